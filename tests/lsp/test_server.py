"""trunkguard server driven through a real LSP client (pytest-lsp, on pygls), as an editor uses it:
initialize, open a file whose unsaved text differs from the disk, see diagnostics (with a finding that
needs another file of the workspace), edit, apply a quick fix the server offers, insert a suppression,
hover a rule id, shut down.

Run by `cargo test --test lsp -- --ignored` (which installs the client into a virtualenv); the
binary comes from $TRUNKGUARD_BIN.
"""

import asyncio
import os
import pathlib

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

BIN = os.environ.get("TRUNKGUARD_BIN", "trunkguard")

OPTIONS = '''\
from oslo_config import cfg

database_opts = [
    cfg.StrOpt('connection', default='', secret=True, help='URL to database'),
]
'''

# The open document: a bare except (TG203, unsafe fix), a secret option not marked (TG306, safe fix),
# and a log of an option another file declares secret (TG301, through the project index).
EDITED = '''\
from oslo_config import cfg
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

opts = [
    cfg.StrOpt('admin_password', help='The admin password.'),
]


def sync(client):
    try:
        client.sync()
    except:
        LOG.warning("sync failed")
    LOG.info("Database: %s", cfg.CONF.database.connection)
'''


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[BIN, "server"]))
async def client(lsp_client: LanguageClient, tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    (root / "pkg").mkdir()
    (root / "pkg" / "options.py").write_text(OPTIONS)
    # On disk the module is clean: what the server reports comes from the editor's text.
    (root / "pkg" / "sync.py").write_text("")
    lsp_client.root = root
    params = types.InitializeParams(
        capabilities=types.ClientCapabilities(
            general=types.GeneralClientCapabilities(position_encodings=[types.PositionEncodingKind.Utf16]),
        ),
        root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(uri=root.as_uri(), name="project")],
    )
    result = await lsp_client.initialize_session(params)
    assert result.capabilities.position_encoding == types.PositionEncodingKind.Utf16
    assert result.server_info.name == "trunkguard"
    yield
    await lsp_client.shutdown_session()


async def diagnostics_for(client, uri, version, timeout=60):
    """Waits until the server publishes diagnostics for `version` of `uri`."""

    async def wait():
        while True:
            params = await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
            if params.uri == uri and params.version == version:
                return params.diagnostics

    return await asyncio.wait_for(wait(), timeout)


def codes(diagnostics):
    return sorted(((d.code, d.range.start.line) for d in diagnostics), key=lambda c: c[1])


def apply(text, edits):
    """Applies LSP text edits (UTF-16 positions; ASCII text here) to `text`."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(pos):
        return starts[pos.line] + pos.character

    for e in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(e.range.start)] + e.new_text + text[offset(e.range.end) :]
    return text


async def code_actions(client, uri, line):
    here = types.Range(start=types.Position(line=line, character=4), end=types.Position(line=line, character=4))
    return await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=here,
            context=types.CodeActionContext(diagnostics=[]),
        )
    )


async def test_open_edit_fix_suppress_hover(client: LanguageClient):
    uri = (client.root / "pkg" / "sync.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=EDITED)
        )
    )
    found = await diagnostics_for(client, uri, 1)
    assert codes(found) == [("TG306", 6), ("TG203", 13), ("TG301", 15)], codes(found)
    # The result cache lives in the workspace, not wherever the editor started the server.
    assert (client.root / ".trunkguard_cache").is_dir()
    assert not (pathlib.Path.cwd() / ".trunkguard_cache").exists()
    tg301 = next(d for d in found if d.code == "TG301")
    assert tg301.severity == types.DiagnosticSeverity.Error
    assert tg301.code_description.href.endswith("/rules/TG301.md")
    assert tg301.source == "trunkguard"
    tg203 = next(d for d in found if d.code == "TG203")
    assert (tg203.range.start.character, tg203.range.end.character) == (4, 11)

    # An edit: the bare except is narrowed by hand; its diagnostic goes, the others stay.
    text = EDITED.replace("except:", "except ValueError:")
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    found = await diagnostics_for(client, uri, 2)
    assert codes(found) == [("TG306", 6), ("TG301", 15)], codes(found)

    # The quick fix for TG306, applied as the editor would.
    actions = await code_actions(client, uri, 6)
    titles = [a.title for a in actions]
    assert "TG306: Add `secret=True`" in titles, titles
    assert "trunkguard: apply 1 safe fix" in titles, titles
    fix = next(a for a in actions if a.title == "TG306: Add `secret=True`")
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    text = apply(text, fix.edit.changes[uri])
    assert "cfg.StrOpt('admin_password', help='The admin password.', secret=True)," in text
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    found = await diagnostics_for(client, uri, 3)
    assert codes(found) == [("TG301", 15)], codes(found)

    # The suppression with a reason placeholder: the finding is silenced (and the comment is not an
    # unused suppression).
    actions = await code_actions(client, uri, 15)
    suppress = next(a for a in actions if a.title == "TG301: suppress on this line, with a reason")
    text = apply(text, suppress.edit.changes[uri])
    assert "    # trunkguard: ignore[TG301] -- <reason>\n    LOG.info(" in text
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=4),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )
    assert list(await diagnostics_for(client, uri, 4)) == []

    # Hover on the rule id in the suppression comment: the rule's documentation.
    line = text.splitlines().index("    # trunkguard: ignore[TG301] -- <reason>")
    hover = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=types.Position(line=line, character=26),
        )
    )
    assert hover.contents.kind == types.MarkupKind.Markdown
    assert hover.contents.value.startswith("**TG301 secret-in-log**"), hover.contents.value[:80]

    # Closing the document clears its diagnostics.
    client.text_document_did_close(
        types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    params = await asyncio.wait_for(client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS), 30)
    assert params.uri == uri and list(params.diagnostics) == []


async def test_a_configuration_change_is_picked_up(client: LanguageClient):
    uri = (client.root / "pkg" / "sync.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="python", version=1, text=EDITED)
        )
    )
    assert "TG203" in [d.code for d in await diagnostics_for(client, uri, 1)]
    config = client.root / "trunkguard.toml"
    config.write_text('ignore = ["TG203"]\n')
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Created)]
        )
    )
    found = await diagnostics_for(client, uri, 1)
    assert "TG203" not in [d.code for d in found], codes(found)
