#!/usr/bin/env node
// Runs extension.js outside VS Code: `vscode` (which only exists inside the editor) is replaced
// by a stand-in, and the real vscode-languageclient then spawns and talks to the server.
//
//   node test/client.js SCENARIO.json
//
// SCENARIO: {"settings": ["CMD", ...], "open": {"uri": "file:///x.arch", "text": "..."}}.
// The extension is activated with archdsl.server.path = settings[0]; each later entry changes
// the setting (firing the change event the extension listens to); `open` then opens a
// document with language archdsl; finally the extension is deactivated. Prints, as JSON, what
// the extension did: the servers it started (command, args, initializeResult) and the
// messages it showed.
'use strict';

const fs = require('fs');
const Module = require('module');
const path = require('path');

const scenario = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const report = { clients: [], messages: [], unhandled: [] };
const listeners = { configuration: [], open: [] };
let setting = scenario.settings[0];
// vscode-languageclient leaves some of its own promises unhandled when a server dies during
// start-up; VS Code logs those, so the stand-in records them instead of exiting.
process.on('unhandledRejection', (err) => { report.unhandled.push(String(err && err.message ? err.message : err)); });

// Any API the test does not care about: callable, constructible, every property another
// stand-in, so registrations and output channels are accepted and do nothing.
function inert(name) {
  return new Proxy(function () {}, {
    get: (target, key) => {
      if (key === Symbol.toPrimitive) return () => name;
      if (key === Symbol.iterator || key === 'then' || key === '__esModule') return undefined;
      return inert(`${name}.${String(key)}`);
    },
    apply: () => inert(`${name}()`),
    construct: () => inert(`new ${name}`),
  });
}

const disposable = { dispose() {} };
const uriOf = (text) => ({ toString: () => text, fsPath: text.replace(/^file:\/\//, ''), scheme: text.split(':')[0] });
const overrides = {
  version: '1.90.0',
  // The real editor names itself; the client sends it as clientInfo.name, which LSP requires
  // (pygls refuses an initialize without it).
  env: { appName: 'Visual Studio Code', language: 'en' },
  workspace: {
    getConfiguration: (section) => ({ get: (key) => (section === 'archdsl' && key === 'server.path' ? setting : undefined) }),
    onDidChangeConfiguration: (fn) => { listeners.configuration.push(fn); return disposable; },
    onDidOpenTextDocument: (fn) => { listeners.open.push(fn); return disposable; },
    textDocuments: [],
    workspaceFolders: undefined,
  },
  window: {
    showErrorMessage: async (message) => { report.messages.push(message); return undefined; },
    visibleTextEditors: [],
  },
  languages: {
    match: (selector, document) => ([].concat(selector).some((s) => s.language === document.languageId) ? 10 : 0),
  },
};

function standIn(name, table) {
  return new Proxy(inert(name), {
    get: (target, key) => (key in table && typeof table[key] === 'object' && table[key] !== null && !Array.isArray(table[key])
      ? standIn(`${name}.${String(key)}`, table[key])
      : key in table ? table[key] : target[key]),
  });
}
const vscode = standIn('vscode', overrides);

const originalLoad = Module._load;
let wrapped = null;
Module._load = function (request, ...rest) {
  if (request === 'vscode') return vscode;
  if (request === 'vscode-languageclient/node' && wrapped) return wrapped;
  return originalLoad.call(this, request, ...rest);
};

// The real client, recording what the extension made of it.
const real = require('vscode-languageclient/node');
class RecordingClient extends real.LanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    super(id, name, serverOptions, clientOptions);
    this.record = { command: serverOptions.command, args: serverOptions.args, initializeResult: null };
    report.clients.push(this.record);
  }
  async start() {
    await super.start();
    this.record.initializeResult = this.initializeResult;
  }
}
wrapped = { ...real, LanguageClient: RecordingClient };

async function main() {
  const extension = require(path.join(__dirname, '..', 'extension.js'));
  const context = { subscriptions: [], extensionPath: path.join(__dirname, '..') };
  await extension.activate(context);
  for (const next of scenario.settings.slice(1)) {
    setting = next;
    const event = { affectsConfiguration: (key) => key === 'archdsl.server.path' };
    await Promise.all(listeners.configuration.map((fn) => fn(event)));
  }
  if (scenario.open) {
    const document = {
      uri: uriOf(scenario.open.uri), languageId: 'archdsl', version: 1,
      getText: () => scenario.open.text, isClosed: false,
    };
    listeners.open.forEach((fn) => fn(document));
    await new Promise((resolve) => setTimeout(resolve, 200)); // the notification is sent async
  }
  await extension.deactivate();
  process.stdout.write(JSON.stringify(report) + '\n');
}

main().then(() => process.exit(0), (err) => {
  console.error(err && err.stack ? err.stack : String(err));
  process.exit(2);
});
