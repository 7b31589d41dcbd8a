// Third-party check of act's GGUF control vectors: parses a file with the npm package @huggingface/gguf
// and compares what it reports with what the C++ test wrote.
//
// node gguf_check.mjs <npm-prefix> <file.gguf> <model_hint> <length> <layers,comma,separated> <first,values>
//   <npm-prefix>: folder whose node_modules holds @huggingface/gguf (npm install --prefix <npm-prefix>)
//   <first,values>: the first element of each direction, in layer order
// Exit status: 0 when everything matches, 77 when the package is not installed (the test skips), 1 otherwise.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const [prefix, file, hint, lengthText, layersText, firstText] = process.argv.slice(2);
if (firstText === undefined) {
  console.error("usage: node gguf_check.mjs <npm-prefix> <file.gguf> <model_hint> <length> <layers> <first-values>");
  process.exit(2);
}

let lib;
try {
  lib = createRequire(join(resolve(prefix), "package.json"))("@huggingface/gguf");
} catch (e) {
  console.log(`@huggingface/gguf is not installed under ${prefix}: ${e.message}`);
  process.exit(77);
}
const { gguf, GGMLQuantizationType, GGUFValueType } = lib;

const failures = [];
const expect = (ok, what) => {
  if (!ok) failures.push(what);
};

const { metadata, tensorInfos, tensorDataOffset, typedMetadata } = await gguf(resolve(file), {
  allowLocalFile: true,
  typedMetadata: true,
});
const layers = layersText.split(",").map(Number);
const first = firstText.split(",").map(Number);
const length = BigInt(lengthText);

expect(metadata.version === 3, `version ${metadata.version}, expected 3`);
expect(metadata["general.architecture"] === "controlvector", `architecture ${metadata["general.architecture"]}`);
expect(metadata["controlvector.model_hint"] === hint, `model_hint ${metadata["controlvector.model_hint"]}`);
expect(typedMetadata["controlvector.layer_count"]?.type === GGUFValueType.INT32, "layer_count is not INT32");
expect(metadata["controlvector.layer_count"] === layers.length, `layer_count ${metadata["controlvector.layer_count"]}`);
expect(tensorInfos.length === layers.length, `${tensorInfos.length} tensors, expected ${layers.length}`);

const bytes = readFileSync(file);
tensorInfos.forEach((t, i) => {
  expect(t.name === `direction.${layers[i]}`, `tensor ${i} is named ${t.name}, expected direction.${layers[i]}`);
  expect(t.n_dims === 1 && t.shape.length === 1 && t.shape[0] === length, `tensor ${t.name} has shape [${t.shape}]`);
  expect(t.dtype === GGMLQuantizationType.F32, `tensor ${t.name} has dtype ${t.dtype}, expected F32`);
  // The data must sit where the tensor info says: check the first element.
  const at = Number(tensorDataOffset + t.offset);
  expect(at % 32 === 0, `tensor ${t.name} data at ${at} is not 32-byte aligned`);
  const value = bytes.readFloatLE(at);
  expect(Math.abs(value - first[i]) <= 1e-6 * Math.max(1, Math.abs(first[i])), `tensor ${t.name}[0] = ${value}, expected ${first[i]}`);
});

if (failures.length > 0) {
  console.error(`@huggingface/gguf disagrees with ${file}:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log(`@huggingface/gguf read ${file}: ${tensorInfos.length} F32 directions of length ${length}, OK`);
