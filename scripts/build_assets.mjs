// Builds disclosure_app's front-end assets. Run with `npm run build:assets`
// after `npm ci`.
//
// - Compiles disclosure_app/assets/app.scss (GOV.UK Frontend 6 with the
//   force's branding) to disclosure_app/static/css/app.css, compressed.
// - Copies GOV.UK Frontend's ES module bundle (and its source map) to
//   disclosure_app/static/js/, next to our own app.js that imports it.
// - Copies our favicon to disclosure_app/static/images/.
//
// GOV.UK's images (crown, crest, GOV.UK favicons) and GDS Transport fonts are
// deliberately NOT copied: this is a police force's service, not GOV.UK's.
//
// Idempotent: every run rewrites the same outputs from the same inputs.

import { mkdirSync, copyFileSync, writeFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const assets = join(root, "disclosure_app", "assets");
const staticDir = join(root, "disclosure_app", "static");
const govukDist = join(root, "node_modules", "govuk-frontend", "dist", "govuk");

function report(path) {
  const bytes = statSync(path).size;
  console.log(`wrote ${relative(root, path)} (${bytes} bytes)`);
}

function write(path, contents) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, contents);
  report(path);
}

function copy(from, to) {
  mkdirSync(dirname(to), { recursive: true });
  copyFileSync(from, to);
  report(to);
}

function buildCss() {
  const result = sass.compile(join(assets, "app.scss"), {
    style: "compressed",
    importers: [new sass.NodePackageImporter(root)],
    loadPaths: [assets],
    sourceMap: false,
    // GOV.UK Frontend's own deprecation notices are not ours to fix.
    quietDeps: true,
  });
  const css = result.css;
  // The force's service never ships GOV.UK's typeface or crown.
  // (Class names such as .govuk-footer__crown are harmless: nothing uses them.)
  const banned = [
    /GDS Transport/i,
    /gds-transport/i,
    /@font-face/i,
    /\.woff2?\b/i,
    /(light|bold)-[0-9a-f]{6,}/i,
    /govuk-crest/i,
    /url\([^)]*(crown|crest|govuk|fonts\/)/i,
  ];
  for (const pattern of banned) {
    if (pattern.test(css)) {
      throw new Error(`compiled CSS unexpectedly matches ${pattern}: check app.scss settings`);
    }
  }
  write(join(staticDir, "css", "app.css"), `${css}\n`);
}

function copyScripts() {
  copy(join(govukDist, "govuk-frontend.min.js"), join(staticDir, "js", "govuk-frontend.min.js"));
  copy(
    join(govukDist, "govuk-frontend.min.js.map"),
    join(staticDir, "js", "govuk-frontend.min.js.map"),
  );
  copy(join(assets, "app.js"), join(staticDir, "js", "app.js"));
}

function copyImages() {
  copy(join(assets, "favicon.svg"), join(staticDir, "images", "favicon.svg"));
}

try {
  buildCss();
  copyScripts();
  copyImages();
  console.log("assets built");
} catch (error) {
  console.error(`asset build failed: ${error.message ?? error}`);
  process.exitCode = 1;
}
