// The archdsl extension's client: starts `archdsl lsp` (a language server over stdio) for .arch
// files and restarts it when its command setting changes. Highlighting needs none of this: it
// comes from the TextMate grammar alone. Plain JavaScript, so there is no build step.
'use strict';

const vscode = require('vscode');
const { LanguageClient } = require('vscode-languageclient/node');

let client = null;

function serverCommand() {
  return vscode.workspace.getConfiguration('archdsl').get('server.path') || 'archdsl';
}

async function start() {
  const command = serverCommand();
  // No `transport`: the client then speaks JSON-RPC over the child's stdin and stdout as it
  // does for TransportKind.stdio, without appending a `--stdio` flag to the command.
  const serverOptions = { command, args: ['lsp'] };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'archdsl' },
      { scheme: 'untitled', language: 'archdsl' },
    ],
    // A file's diagnostics depend on the files it `use`s: tell the server when any changes.
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher('**/*.arch') },
  };
  client = new LanguageClient('archdsl', 'archdsl', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    const choice = await vscode.window.showErrorMessage(
      `archdsl: could not start the language server \`${command} lsp\` (${err && err.message ? err.message : err}). ` +
      'Highlighting still works; set "archdsl.server.path" to an archdsl that has the `lsp` command.',
      'Open Settings');
    if (choice === 'Open Settings') {
      vscode.commands.executeCommand('workbench.action.openSettings', 'archdsl.server.path');
    }
  }
}

async function stop() {
  if (client) {
    const running = client;
    client = null;
    try {
      await running.stop();
    } catch (err) {
      // A server that never started has nothing to stop.
    }
  }
}

async function activate(context) {
  context.subscriptions.push(vscode.workspace.onDidChangeConfiguration(async (event) => {
    if (event.affectsConfiguration('archdsl.server.path')) {
      await stop();
      await start();
    }
  }));
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
