//! `trunkguard server`: a Language Server over standard input and output (rust-analyzer's synchronous
//! `lsp-server`, no async runtime). It keeps the open documents in memory ([`documents`]) and publishes
//! their findings as diagnostics on open, change (debounced) and save ([`diagnostics`]), offers code
//! actions and hover ([`actions`]), and re-analyses when a configuration file changes.
//!
//! One loop owns the state; analyses run one at a time on a worker thread. An edit arriving while one
//! runs cancels it (the files it finished stay in the cache) and schedules the next; a result computed
//! for a version of a document that has since changed is dropped (stale work is never published).

pub mod actions;
pub mod diagnostics;
pub mod documents;

use anyhow::{Context, Result};
use crossbeam_channel::{Receiver, Sender, select};
use diagnostics::{Debounce, DocResult, Job, JobDoc, Outcome};
use documents::{Documents, Encoding, Lines};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::{self as notif, Notification as _};
use lsp_types::request::{self as req, Request as _};
use lsp_types::{
    CodeActionOptions, CodeActionProviderCapability, DidChangeTextDocumentParams, DidChangeWatchedFilesParams,
    DidCloseTextDocumentParams, DidOpenTextDocumentParams, DidSaveTextDocumentParams, ExecuteCommandOptions,
    FileSystemWatcher, GlobPattern, HoverProviderCapability, InitializeParams, PublishDiagnosticsParams, Registration,
    RegistrationParams, SaveOptions, ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri,
};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Configuration files whose change re-analyses every open document.
const CONFIG_FILES: &[&str] = &["pyproject.toml", "trunkguard.toml", ".trunkguard.toml"];

/// Runs the server on standard input and output until the client says `exit`.
pub fn run() -> Result<()> {
    let (connection, io) = Connection::stdio();
    serve(&connection)?;
    drop(connection);
    io.join().context("the LSP connection failed")?;
    Ok(())
}

/// The capabilities the server announces for `encoding`.
fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(TextDocumentSyncOptions {
            open_close: Some(true),
            change: Some(TextDocumentSyncKind::FULL),
            save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions { include_text: Some(false) })),
            ..TextDocumentSyncOptions::default()
        })),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![lsp_types::CodeActionKind::QUICKFIX, actions::fix_all_kind()]),
            ..CodeActionOptions::default()
        })),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: vec![actions::SHOW_RULE.into()],
            ..ExecuteCommandOptions::default()
        }),
        ..ServerCapabilities::default()
    }
}

/// Serves one client on `connection`: the handshake, then the loop until `shutdown` and `exit`.
pub fn serve(connection: &Connection) -> Result<()> {
    let (id, params) = connection.initialize_start()?;
    let params: InitializeParams = serde_json::from_value(params).context("bad initialize parameters")?;
    let encoding =
        Encoding::negotiate(params.capabilities.general.as_ref().and_then(|g| g.position_encodings.as_deref()));
    let result = lsp_types::InitializeResult {
        capabilities: capabilities(encoding),
        server_info: Some(ServerInfo { name: "trunkguard".into(), version: Some(env!("CARGO_PKG_VERSION").into()) }),
    };
    connection.initialize_finish(id, serde_json::to_value(result)?)?;
    let mut server = Server::new(connection.sender.clone(), encoding, workspace_root(&params), &params);
    server.main_loop(&connection.receiver)
}

/// The workspace the project model is built from: the first workspace folder, else the root URI, else
/// the working directory.
#[allow(deprecated)] // `root_uri`: older clients send only it.
fn workspace_root(params: &InitializeParams) -> PathBuf {
    let folder = params.workspace_folders.as_ref().and_then(|f| f.first()).map(|f| &f.uri);
    folder
        .or(params.root_uri.as_ref())
        .and_then(documents::uri_to_path)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The server's state, owned by the loop.
struct Server {
    sender: Sender<Message>,
    encoding: Encoding,
    root: PathBuf,
    documents: Documents,
    /// The latest results per document URI (for the version they were computed on).
    results: BTreeMap<String, DocResult>,
    debounce: Debounce,
    generation: u64,
    /// A job is running on the worker.
    running: bool,
    /// Cancels the running job (set when the text it analyses changes).
    cancel: std::sync::Arc<std::sync::atomic::AtomicBool>,
    jobs: Sender<Job>,
    outcomes: Receiver<Outcome>,
    /// Whether the client can open a URI (`window/showDocument`) for the rule documentation command.
    show_document: bool,
    /// Whether to ask the client to watch configuration files.
    watch_config: bool,
    /// Use the result cache (initialization option `cache`, default on).
    cache: bool,
    /// The last analysis error shown (an invalid configuration is shown once, not on every keystroke).
    last_error: Option<String>,
    next_request: i32,
}

impl Server {
    fn new(sender: Sender<Message>, encoding: Encoding, root: PathBuf, params: &InitializeParams) -> Server {
        let (jobs, job_rx) = crossbeam_channel::unbounded::<Job>();
        let (outcome_tx, outcomes) = crossbeam_channel::unbounded();
        std::thread::Builder::new()
            .name("trunkguard-analysis".into())
            .spawn(move || {
                for job in job_rx {
                    let outcome = std::panic::catch_unwind(|| diagnostics::run(&job)).unwrap_or_else(|_| Outcome {
                        generation: job.generation,
                        docs: Vec::new(),
                        error: Some("internal error while analysing".into()),
                    });
                    if outcome_tx.send(outcome).is_err() {
                        break;
                    }
                }
            })
            .expect("start the analysis thread");
        let caps = &params.capabilities;
        let show_document = caps.window.as_ref().and_then(|w| w.show_document.as_ref()).is_some_and(|s| s.support);
        let watch_config = caps
            .workspace
            .as_ref()
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false);
        Server {
            sender,
            encoding,
            root,
            documents: Documents::default(),
            results: BTreeMap::new(),
            debounce: Debounce::default(),
            generation: 0,
            running: false,
            cancel: Default::default(),
            jobs,
            outcomes,
            show_document,
            watch_config,
            cache: params.initialization_options.as_ref().and_then(|o| o.get("cache")).and_then(|c| c.as_bool())
                != Some(false),
            next_request: 0,
            last_error: None,
        }
    }

    fn main_loop(&mut self, inbox: &Receiver<Message>) -> Result<()> {
        loop {
            let now = Instant::now();
            if !self.running && self.debounce.take_due(now) {
                self.start_job();
            }
            let wait = if self.running { None } else { self.debounce.wait(Instant::now()) };
            let timeout = crossbeam_channel::after(wait.unwrap_or(std::time::Duration::from_secs(3600)));
            select! {
                recv(inbox) -> msg => {
                    let Ok(msg) = msg else { return Ok(()) };
                    if self.handle(msg)? {
                        return Ok(());
                    }
                }
                recv(self.outcomes) -> outcome => {
                    if let Ok(outcome) = outcome {
                        self.running = false;
                        self.finish_job(outcome)?;
                    }
                }
                recv(timeout) -> _ => {}
            }
        }
    }

    /// Handles one message; `true` when the client said `exit`.
    fn handle(&mut self, msg: Message) -> Result<bool> {
        match msg {
            Message::Request(request) => {
                if request.method == req::Shutdown::METHOD {
                    self.respond(Response::new_ok(request.id, ()))?;
                    return Ok(false);
                }
                let id = request.id.clone();
                // Parameters that do not parse are the client's error, answered as such; the server
                // goes on. Only a closed connection ends it.
                if let Err(e) = self.request(request) {
                    let Some(bad) = e.downcast_ref::<serde_json::Error>() else { return Err(e) };
                    let message = format!("invalid parameters: {bad}");
                    self.respond(Response::new_err(id, ErrorCode::InvalidParams as i32, message))?;
                }
            }
            Message::Notification(n) if n.method == notif::Exit::METHOD => return Ok(true),
            Message::Notification(n) => {
                let method = n.method.clone();
                if let Err(e) = self.notification(n) {
                    let Some(bad) = e.downcast_ref::<serde_json::Error>() else { return Err(e) };
                    let message = format!("trunkguard: ignored `{method}` with invalid parameters: {bad}");
                    self.notify(
                        notif::LogMessage::METHOD,
                        lsp_types::LogMessageParams { typ: lsp_types::MessageType::WARNING, message },
                    )?;
                }
            }
            Message::Response(_) => {} // to our registerCapability / showDocument: nothing to do
        }
        Ok(false)
    }

    fn notification(&mut self, n: Notification) -> Result<()> {
        let now = Instant::now();
        let before = self.debounce;
        match n.method.as_str() {
            notif::Initialized::METHOD => self.register_config_watcher()?,
            notif::DidOpenTextDocument::METHOD => {
                let p: DidOpenTextDocumentParams = serde_json::from_value(n.params)?;
                let d = p.text_document;
                if d.language_id == "python" || d.uri.as_str().ends_with(".py") {
                    self.documents.open(&d.uri, d.text, d.version);
                    self.debounce.now(now);
                }
            }
            notif::DidChangeTextDocument::METHOD => {
                let p: DidChangeTextDocumentParams = serde_json::from_value(n.params)?;
                // Full-text sync: the last change holds the whole text.
                if let Some(change) = p.content_changes.into_iter().last()
                    && self.documents.change(&p.text_document.uri, change.text, p.text_document.version)
                {
                    self.debounce.edited(now);
                }
            }
            notif::DidSaveTextDocument::METHOD => {
                let p: DidSaveTextDocumentParams = serde_json::from_value(n.params)?;
                if self.documents.get(p.text_document.uri.as_str()).is_some() || is_config(&p.text_document.uri) {
                    self.debounce.now(now);
                }
            }
            notif::DidCloseTextDocument::METHOD => {
                let p: DidCloseTextDocumentParams = serde_json::from_value(n.params)?;
                if self.documents.close(&p.text_document.uri).is_some() {
                    self.results.remove(p.text_document.uri.as_str());
                    self.publish(&p.text_document.uri, Vec::new(), None)?;
                }
            }
            notif::DidChangeWatchedFiles::METHOD => {
                let p: DidChangeWatchedFilesParams = serde_json::from_value(n.params)?;
                if p.changes.iter().any(|c| is_config(&c.uri)) {
                    self.debounce.now(now);
                }
            }
            _ => {} // $/cancelRequest: requests are answered at once from the latest results
        }
        // New work was scheduled (the text or the configuration changed): the running job is stale.
        if self.running && self.debounce != before {
            self.cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }

    fn request(&mut self, request: Request) -> Result<()> {
        let id = request.id.clone();
        let result = match request.method.as_str() {
            req::CodeActionRequest::METHOD => {
                let p: lsp_types::CodeActionParams = serde_json::from_value(request.params)?;
                serde_json::to_value(self.code_actions(&p.text_document.uri, p.range, p.context.only.as_deref()))?
            }
            req::HoverRequest::METHOD => {
                let p: lsp_types::HoverParams = serde_json::from_value(request.params)?;
                let at = p.text_document_position_params;
                let hover = self
                    .documents
                    .get(at.text_document.uri.as_str())
                    .and_then(|d| actions::hover(&d.text, at.position, self.encoding));
                serde_json::to_value(hover)?
            }
            req::ExecuteCommand::METHOD => {
                let p: lsp_types::ExecuteCommandParams = serde_json::from_value(request.params)?;
                let rule = p.arguments.first().and_then(|a| a.as_str()).and_then(crate::finding::rule_id_of);
                match rule.filter(|_| p.command == actions::SHOW_RULE) {
                    Some(rule) => self.show_rule(rule)?,
                    None => {
                        let message = format!("unknown command `{}`", p.command);
                        return self.respond(Response::new_err(id, ErrorCode::InvalidParams as i32, message));
                    }
                }
                serde_json::Value::Null
            }
            _ => {
                let message = format!("unsupported request `{}`", request.method);
                return self.respond(Response::new_err(id, ErrorCode::MethodNotFound as i32, message));
            }
        };
        self.respond(Response { id, result: Some(result), error: None })
    }

    /// The code actions for `range`, from the latest results if they are for the document's current
    /// text (an action computed on older text would edit the wrong place).
    /// `only`: the kinds the client asks for (`source.fixAll` on save); none: every kind.
    fn code_actions(
        &self,
        uri: &Uri,
        range: lsp_types::Range,
        only: Option<&[lsp_types::CodeActionKind]>,
    ) -> Vec<lsp_types::CodeActionOrCommand> {
        let Some(doc) = self.documents.get(uri.as_str()) else { return Vec::new() };
        let Some(result) = self.results.get(uri.as_str()).filter(|r| r.version == doc.version) else {
            return Vec::new();
        };
        // A requested kind takes in its sub-kinds: `source` and `source.fixAll` both mean fix-all.
        let wants = |kind: &lsp_types::CodeActionKind| {
            only.is_none_or(|o| {
                o.iter().any(|k| kind.as_str() == k.as_str() || kind.as_str().starts_with(&format!("{}.", k.as_str())))
            })
        };
        let mut out = Vec::new();
        if wants(&lsp_types::CodeActionKind::QUICKFIX) {
            out = actions::code_actions(uri, &doc.text, &result.findings, range, self.encoding, &self.root);
        }
        if wants(&actions::fix_all_kind()) {
            out.extend(actions::fix_all(uri, &doc.text, &result.findings, self.encoding));
        }
        out
    }

    /// Opens the rule's documentation in the client (`window/showDocument`), or shows its summary.
    fn show_rule(&mut self, rule: &str) -> Result<()> {
        let url: Option<Uri> = diagnostics::doc_url(rule).parse().ok();
        if let (true, Some(uri)) = (self.show_document, url) {
            let params =
                lsp_types::ShowDocumentParams { uri, external: Some(true), take_focus: Some(true), selection: None };
            return self.send_request(req::ShowDocument::METHOD, params);
        }
        let text = crate::docs::get(rule).map(|d| d.render_text()).unwrap_or_default();
        let params = lsp_types::ShowMessageParams { typ: lsp_types::MessageType::INFO, message: text };
        self.notify(notif::ShowMessage::METHOD, params)
    }

    /// Asks the client to tell us when a configuration file changes.
    fn register_config_watcher(&mut self) -> Result<()> {
        if !self.watch_config {
            return Ok(());
        }
        let watchers = CONFIG_FILES
            .iter()
            .map(|name| FileSystemWatcher { glob_pattern: GlobPattern::String(format!("**/{name}")), kind: None })
            .collect();
        let options = lsp_types::DidChangeWatchedFilesRegistrationOptions { watchers };
        let registration = Registration {
            id: "trunkguard-config".into(),
            method: notif::DidChangeWatchedFiles::METHOD.into(),
            register_options: Some(serde_json::to_value(options)?),
        };
        self.send_request(req::RegisterCapability::METHOD, RegistrationParams { registrations: vec![registration] })
    }

    fn start_job(&mut self) {
        if self.documents.is_empty() {
            return;
        }
        self.generation += 1;
        let docs = self
            .documents
            .iter()
            .map(|(uri, d)| JobDoc { uri: uri.clone(), path: d.path.clone(), text: d.text.clone(), version: d.version })
            .collect();
        // A fresh flag per job: a late cancel meant for the previous job cannot stop this one.
        self.cancel = Default::default();
        let cancel = self.cancel.clone();
        let job = Job { generation: self.generation, root: self.root.clone(), cache: self.cache, cancel, docs };
        self.running = self.jobs.send(job).is_ok();
    }

    /// Publishes a job's results for every document still at the version analysed; the others wait for
    /// the next job (already due: their edit scheduled it).
    fn finish_job(&mut self, outcome: Outcome) -> Result<()> {
        if outcome.error.is_some() && outcome.error != self.last_error {
            let message = format!("trunkguard: {}", outcome.error.as_deref().unwrap_or_default());
            let params = lsp_types::ShowMessageParams { typ: lsp_types::MessageType::ERROR, message };
            self.notify(notif::ShowMessage::METHOD, params)?;
        }
        self.last_error = outcome.error;
        for result in outcome.docs {
            let Some(doc) = self.documents.get(&result.uri) else { continue };
            if doc.version != result.version {
                continue; // stale: the text changed while it was analysed
            }
            let lines = Lines::new(&doc.text);
            let Ok(uri) = result.uri.parse::<Uri>() else { continue };
            let mut diagnostics: Vec<lsp_types::Diagnostic> = result
                .findings
                .iter()
                .map(|f| diagnostics::diagnostic(f, &uri, &lines, self.encoding, &self.root))
                .collect();
            diagnostics.extend(result.notes.iter().map(|n| diagnostics::note_diagnostic(n, &lines, self.encoding)));
            let version = Some(result.version);
            self.results.insert(result.uri.clone(), result);
            self.publish(&uri, diagnostics, version)?;
        }
        Ok(())
    }

    fn publish(&self, uri: &Uri, diagnostics: Vec<lsp_types::Diagnostic>, version: Option<i32>) -> Result<()> {
        let params = PublishDiagnosticsParams { uri: uri.clone(), diagnostics, version };
        self.notify(notif::PublishDiagnostics::METHOD, params)
    }

    fn notify(&self, method: &str, params: impl serde::Serialize) -> Result<()> {
        self.sender.send(Message::Notification(Notification::new(method.into(), params)))?;
        Ok(())
    }

    fn send_request(&mut self, method: &str, params: impl serde::Serialize) -> Result<()> {
        self.next_request += 1;
        let id = RequestId::from(format!("trunkguard-{}", self.next_request));
        self.sender.send(Message::Request(Request::new(id, method.into(), params)))?;
        Ok(())
    }

    fn respond(&self, response: Response) -> Result<()> {
        self.sender.send(Message::Response(response))?;
        Ok(())
    }
}

/// Is `uri` a trunkguard configuration file?
fn is_config(uri: &Uri) -> bool {
    let path = uri.as_str();
    CONFIG_FILES.iter().any(|name| path.rsplit('/').next() == Some(*name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// Receives messages until one satisfies `want` (the server may send others first).
    fn expect(client: &Connection, want: impl Fn(&Message) -> bool) -> Message {
        loop {
            let msg = client.receiver.recv_timeout(std::time::Duration::from_secs(60)).expect("the server answers");
            if want(&msg) {
                return msg;
            }
        }
    }

    fn request(client: &Connection, id: i32, method: &str, params: Value) -> Value {
        client.sender.send(Message::Request(Request::new(id.into(), method.into(), params))).unwrap();
        let Message::Response(r) = expect(client, |m| matches!(m, Message::Response(r) if r.id == id.into())) else {
            unreachable!()
        };
        assert!(r.error.is_none(), "{:?}", r.error);
        r.result.unwrap_or(Value::Null)
    }

    fn notify(client: &Connection, method: &str, params: Value) {
        client.sender.send(Message::Notification(Notification::new(method.into(), params))).unwrap();
    }

    fn diagnostics(client: &Connection, version: i32) -> Vec<Value> {
        let Message::Notification(n) = expect(client, |m| {
            matches!(m, Message::Notification(n) if n.method == "textDocument/publishDiagnostics"
                && n.params["version"] == version)
        }) else {
            unreachable!()
        };
        n.params["diagnostics"].as_array().cloned().unwrap_or_default()
    }

    #[test]
    fn the_loop_serves_open_change_code_actions_and_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.py");
        std::fs::write(&path, "").unwrap();
        let root = documents::path_to_uri(dir.path()).unwrap();
        let uri = documents::path_to_uri(&path).unwrap();
        let (server, client) = Connection::memory();
        let handle = std::thread::spawn(move || serve(&server));
        let init = request(
            &client,
            1,
            "initialize",
            json!({"capabilities": {}, "rootUri": root.as_str(), "initializationOptions": {"cache": false}}),
        );
        assert_eq!(init["capabilities"]["positionEncoding"], "utf-16");
        notify(&client, "initialized", json!({}));
        let text = "def f():\n    try:\n        g()\n    except:\n        pass\n";
        let doc = json!({"uri": uri.as_str(), "languageId": "python", "version": 1, "text": text});
        notify(&client, "textDocument/didOpen", json!({"textDocument": doc}));
        let found = diagnostics(&client, 1);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["code"], "TG203");
        assert_eq!(found[0]["range"]["start"], json!({"line": 3, "character": 4}));
        let actions = request(
            &client,
            2,
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri.as_str()}, "context": {"diagnostics": []},
                   "range": {"start": {"line": 3, "character": 5}, "end": {"line": 3, "character": 5}}}),
        );
        let titles: Vec<&str> = actions.as_array().unwrap().iter().filter_map(|a| a["title"].as_str()).collect();
        assert_eq!(
            titles,
            [
                "TG203: Catch `Exception` (lets `SystemExit`, `KeyboardInterrupt` and `GreenletExit` through) (unsafe: changes behaviour)",
                "TG203: suppress on this line, with a reason",
                "TG203: show the rule's documentation"
            ]
        );
        // Two quick edits: the first version's analysis, if it ran, is never published as the second's.
        for (version, text) in
            [(2, text.replace("except:", "except ValueError:")), (3, text.replace("except:", "except KeyError:"))]
        {
            let change =
                json!({"textDocument": {"uri": uri.as_str(), "version": version}, "contentChanges": [{"text": text}]});
            notify(&client, "textDocument/didChange", change);
        }
        assert_eq!(diagnostics(&client, 3), Vec::<Value>::new());
        // A document that is not open has no actions; an unknown request is an error, not a crash.
        let none = request(
            &client,
            3,
            "textDocument/codeAction",
            json!({"textDocument": {"uri": "file:///elsewhere.py"}, "context": {"diagnostics": []},
                   "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}}}),
        );
        assert_eq!(none, json!([]));
        // Parameters that do not parse: an error answer (or a log message), and the server goes on.
        notify(&client, "textDocument/didOpen", json!({"textDocument": 7}));
        client.sender.send(Message::Request(Request::new(6.into(), "textDocument/hover".into(), json!([])))).unwrap();
        let Message::Response(r) = expect(&client, |m| matches!(m, Message::Response(_))) else { unreachable!() };
        assert_eq!(r.error.map(|e| e.code), Some(ErrorCode::InvalidParams as i32));
        client.sender.send(Message::Request(Request::new(4.into(), "textDocument/rename".into(), json!({})))).unwrap();
        let Message::Response(r) = expect(&client, |m| matches!(m, Message::Response(_))) else { unreachable!() };
        assert_eq!(r.error.map(|e| e.code), Some(ErrorCode::MethodNotFound as i32));
        request(&client, 5, "shutdown", Value::Null);
        notify(&client, "exit", Value::Null);
        handle.join().unwrap().unwrap();
    }
}
