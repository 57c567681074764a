// Front-end entry point, loaded as <script type="module" src=".../js/app.js">.
//
// No inline scripts anywhere: the app serves a strict Content Security Policy
// without 'unsafe-inline'. Module scripts only run in browsers that GOV.UK
// Frontend supports, so marking the body here is the same feature test as
// GOV.UK's inline snippet.
import { initAll } from "./govuk-frontend.min.js";

document.body.classList.add("govuk-frontend-supported");
initAll();
