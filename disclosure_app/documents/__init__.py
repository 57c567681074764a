"""Documents: the letters and undertakings a case hands to people and the signed copies it keeps,
the PDF records (``pdf``), the case bundle for reviewers and spreadsheet-safe CSV exports."""
