// Builds a recipe's image tarball in its own process (run with tsx): the recipes read their files
// next to their sources, which a bundled web server cannot do. Prints {"tarball","dir","settings"} as JSON; exit 3: no such recipe.
//   tsx server/engine/incus/build-image.ts <recipe> <cacheDir>
import path from "node:path";
import { RECIPES } from "../../recipes/index.js";
import { buildImageTarball } from "./recipe-image.js";

const [recipe, cacheDir] = process.argv.slice(2);
if (!recipe || !cacheDir) {
  console.error("usage: build-image.ts <recipe> <cacheDir>");
  process.exit(2);
}
const recipeDef = RECIPES[recipe];
if (!recipeDef) {
  console.error(`unknown recipe ${recipe}; known: ${Object.keys(RECIPES).join(", ")}`);
  process.exit(3);
}
const { tarball } = await buildImageTarball(recipe, cacheDir, (p, m) => console.error(`progress: ${p} ${m}`));
console.log(JSON.stringify({ tarball, dir: path.dirname(tarball), settings: recipeDef.settings }));
