#!/usr/bin/env node
// Tokenizes .arch text with the TextMate grammar of this extension, through the engine VS Code
// itself uses (vscode-textmate on the Oniguruma WebAssembly build).
//
//   node test/tokenize.js [FILE...]  every token whose scopes include `invalid`, as
//                                    FILE:LINE:COL; exit 1 if there is one. Without FILEs:
//                                    every .arch file the repository ships.
//   node test/tokenize.js --json     stdin: a JSON array of texts; stdout: for each text, its
//                                    tokens as {start, end, scopes}, offsets counted in code
//                                    points (as Python counts), not UTF-16 units.
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const GRAMMAR = path.join(__dirname, '..', 'syntaxes', 'archdsl.tmLanguage.json');
const ROOT = path.resolve(__dirname, '..', '..', '..');
// The shipped .arch files: directory, and whether to descend into subdirectories.
const SHIPPED = [['zoo', true], ['archdsl/stdlib', false], ['search', false], ['tests/data', false]];

async function loadGrammar() {
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));
  const onigLib = oniguruma
    .loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength))
    .then(() => ({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }));
  const registry = new vsctm.Registry({
    onigLib,
    loadGrammar: async (scopeName) => scopeName === 'source.archdsl'
      ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, 'utf8'), GRAMMAR)
      : null,
  });
  return registry.loadGrammar('source.archdsl');
}

// Tokens of a whole text, one line at a time as the editor does, with offsets into the text.
function tokenize(grammar, text) {
  const tokens = [];
  let stack = vsctm.INITIAL;
  let offset = 0;
  for (const line of text.split(/\r?\n/)) {
    const result = grammar.tokenizeLine(line, stack);
    for (const t of result.tokens) {
      const end = Math.min(t.endIndex, line.length);
      if (end > t.startIndex) {
        tokens.push({ start: offset + t.startIndex, end: offset + end, scopes: t.scopes });
      }
    }
    stack = result.ruleStack;
    offset += line.length + 1;
  }
  return tokens;
}

// UTF-16 offset -> code-point offset, for every offset into text.
function codePointOffsets(text) {
  const map = new Array(text.length + 1);
  let points = 0;
  for (let i = 0; i <= text.length; i++) {
    map[i] = points;
    const unit = text.charCodeAt(i);
    if (!(unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length)) points += 1;
  }
  return map;
}

function asCodePoints(text, tokens) {
  const map = codePointOffsets(text);
  return tokens.map((t) => ({ start: map[t.start], end: map[t.end], scopes: t.scopes }));
}

function shippedFiles() {
  const found = [];
  const walk = (dir, deep) => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name < b.name ? -1 : 1)) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory() && deep) walk(full, deep);
      else if (entry.isFile() && entry.name.endsWith('.arch')) found.push(full);
    }
  };
  for (const [dir, deep] of SHIPPED) walk(path.join(ROOT, dir), deep);
  return found;
}

function position(text, offset) {
  const before = text.slice(0, offset).split(/\r?\n/);
  return `${before.length}:${before[before.length - 1].length + 1}`;
}

async function main(argv) {
  const grammar = await loadGrammar();
  if (argv[0] === '--json') {
    const texts = JSON.parse(fs.readFileSync(0, 'utf8'));
    process.stdout.write(JSON.stringify(texts.map((text) => asCodePoints(text, tokenize(grammar, text)))) + '\n');
    return 0;
  }
  const files = argv.length ? argv : shippedFiles();
  if (!files.length) {
    console.error(`no .arch files found under ${ROOT}`);
    return 1;
  }
  let bad = 0;
  let lines = 0;
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    lines += text.split(/\r?\n/).length;
    for (const t of tokenize(grammar, text)) {
      if (t.scopes.some((s) => s.startsWith('invalid'))) {
        bad += 1;
        const shown = JSON.stringify(text.slice(t.start, t.end));
        console.log(`${path.relative(process.cwd(), file)}:${position(text, t.start)}: ${shown} is ${t.scopes.join(' ')}`);
      }
    }
  }
  console.log(`${files.length} files, ${lines} lines: ${bad ? `${bad} invalid tokens` : 'no invalid tokens'}`);
  return bad ? 1 : 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exitCode = 2;
});
