//! SARIF 2.1.0 for GitHub code scanning, CI lint steps and IDE SARIF viewers, built with serde-sarif's
//! types. Every rule that ran is described in `tool.driver.rules` from its `rules/*.md` document;
//! results carry repository-relative URIs under `%SRCROOT%`, UTF-16 columns, a snippet and
//! line-independent `partialFingerprints`. Output is deterministic for the same input.

use super::Report;
use crate::discover::percent_encode;
use crate::docs::RuleDoc;
use crate::finding::{FINGERPRINT_KEY, Finding, INCOMPLETE, Level, Notification, Related, Span};
use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactChange, ArtifactContent, ArtifactLocation, CodeFlow, Fix as SarifFix, Invocation, Location, Message,
    MultiformatMessageString, PhysicalLocation, PropertyBag, Region, Replacement, ReportingConfiguration,
    ReportingDescriptor, ReportingDescriptorReference, Result as SarifResult, ResultLevel, Run, Sarif, Suppression,
    ThreadFlow, ThreadFlowLocation, Tool, ToolComponent,
};
use std::collections::BTreeMap;
use std::path::Path;

/// The SARIF 2.1.0 schema URI written to `$schema`.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";

/// Renders the report as a SARIF 2.1.0 log (pretty-printed JSON, trailing newline).
pub fn render(report: &Report) -> String {
    let mut value = serde_json::to_value(build(report)).unwrap_or(Value::Null);
    // serde-sarif writes `version` from a plain Value; make sure the run-level fields it leaves open
    // are spelled as the schema wants.
    if let Some(obj) = value.as_object_mut() {
        obj.insert("version".into(), json!("2.1.0"));
    }
    let mut out = serde_json::to_string_pretty(&value).unwrap_or_default();
    out.push('\n');
    out
}

fn build(report: &Report) -> Sarif {
    let rules: Vec<ReportingDescriptor> = report.rules.iter().map(|d| descriptor(d)).collect();
    let driver = ToolComponent::builder()
        .name("trunkguard")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(env!("CARGO_PKG_REPOSITORY"))
        .rules(rules)
        .build();
    let mut results: Vec<SarifResult> = report.all().map(|(path, f)| result(report, path, f)).collect();
    results.extend(report.absent.iter().filter_map(absent));
    let notifications: Vec<serde_sarif::sarif::Notification> =
        report.notifications.iter().map(|n| notification(report, n)).collect();
    let successful = !report.notifications.iter().any(|n| n.id == INCOMPLETE);
    let invocation =
        Invocation::builder().execution_successful(successful).tool_execution_notifications(notifications).build();
    let base =
        BTreeMap::from([(SRCROOT.to_string(), ArtifactLocation::builder().uri(dir_uri(&report.srcroot)).build())]);
    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .invocations(vec![invocation])
        .original_uri_base_ids(base)
        .column_kind(json!("utf16CodeUnits"))
        .build();
    if let Some(outside) = report.outside_diff {
        // `--diff-against`: how many findings the diff filter left out (not results: they are not shown).
        let extra = BTreeMap::from([("findingsOutsideDiff".to_string(), json!(outside))]);
        run.properties = Some(PropertyBag::builder().additional_properties(extra).build());
    }
    Sarif::builder().schema(SCHEMA_URI).version(json!("2.1.0")).runs(vec![run]).build()
}

fn descriptor(d: &RuleDoc) -> ReportingDescriptor {
    let mut tags = vec!["security".to_string()];
    if let Some(cwe) = &d.cwe {
        tags.push(cwe.clone());
        tags.push(format!("external/cwe/{}", cwe.to_ascii_lowercase()));
    }
    tags.extend(d.tags.iter().filter(|t| !tags.contains(t)).cloned().collect::<Vec<_>>());
    let mut extra = BTreeMap::from([("precision".to_string(), json!(d.precision))]);
    if let Some(sev) = &d.security_severity {
        extra.insert("security-severity".into(), json!(sev));
    }
    if let Some(measured) = &d.measured_precision {
        extra.insert("trunkguard/measured-precision".into(), json!(measured));
    }
    ReportingDescriptor::builder()
        .id(d.id.clone())
        .name(d.name.clone())
        .short_description(MultiformatMessageString::builder().text(d.summary.clone()).build())
        .full_description(MultiformatMessageString::builder().text(d.full_description()).build())
        .help(MultiformatMessageString::builder().text(d.render_text()).markdown(d.body.clone()).build())
        .default_configuration(ReportingConfiguration::builder().level(json!(d.level.as_str())).build())
        .properties(PropertyBag::builder().tags(tags).additional_properties(extra).build())
        .build()
}

fn level(l: Level) -> ResultLevel {
    match l {
        Level::Note => ResultLevel::Note,
        Level::Warning => ResultLevel::Warning,
        Level::Error => ResultLevel::Error,
    }
}

/// Directory URI for `%SRCROOT%` (`file:///…/`).
fn dir_uri(dir: &Path) -> String {
    let s = dir.to_string_lossy().replace('\\', "/");
    let s = s.trim_end_matches('/');
    let s = if s.starts_with('/') { s.to_string() } else { format!("/{s}") };
    format!("file://{}/", percent_encode(s.as_bytes()))
}

/// Artifact location for a display path: relative ones under `%SRCROOT%`, absolute ones as file URIs.
fn artifact(report: &Report, path: &str) -> ArtifactLocation {
    let uri = report.uri(path);
    if uri.starts_with('/') {
        ArtifactLocation::builder().uri(format!("file://{uri}")).build()
    } else {
        ArtifactLocation::builder().uri(uri).uri_base_id(SRCROOT).build()
    }
}

fn region(span: &Span, snippet: Option<&str>) -> Region {
    let mut r = Region::builder()
        .start_line(span.start.line as i64)
        .start_column(span.start.column as i64)
        .end_line(span.end.line as i64)
        .end_column(span.end.column as i64)
        .build();
    r.snippet = snippet.map(|text| ArtifactContent::builder().text(text).build());
    r
}

fn location(report: &Report, path: &str, span: &Span, snippet: Option<&str>, message: Option<&str>) -> Location {
    let physical =
        PhysicalLocation::builder().artifact_location(artifact(report, path)).region(region(span, snippet)).build();
    let loc = Location::builder().physical_location(physical);
    match message {
        Some(m) => loc.message(Message::builder().text(m).build()).build(),
        None => loc.build(),
    }
}

/// The finding property carried as SARIF `result.rank` (see [`crate::finding::RANK`]).
const RANK: &str = crate::finding::RANK;

fn result(report: &Report, path: &str, f: &Finding) -> SarifResult {
    let index = report.rules.iter().position(|d| d.id == f.rule).unwrap_or(0) as i64;
    let related: Vec<Location> = f
        .related
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut loc = location(report, r.path.as_deref().unwrap_or(path), &r.span, None, Some(&r.message));
            loc.id = Some(i as i64 + 1);
            loc
        })
        .collect();
    // A `rank` property (0–100, how likely the finding is real) is SARIF's own `result.rank`.
    let rank = f.properties.get(RANK).and_then(|r| r.parse::<f64>().ok()).filter(|r| (0.0..=100.0).contains(r));
    let mut extra: BTreeMap<String, Value> =
        f.properties.iter().filter(|(k, _)| k.as_str() != RANK).map(|(k, v)| (k.clone(), json!(v))).collect();
    extra.insert("scope".into(), json!(f.scope));
    let mut out = SarifResult::builder()
        .rule_id(f.rule)
        .rule_index(index)
        .level(level(f.level))
        .message(Message::builder().text(f.message.clone()).build())
        .locations(vec![location(report, path, &f.span, Some(&f.snippet), None)])
        .partial_fingerprints(BTreeMap::from([(FINGERPRINT_KEY.to_string(), f.fingerprint.clone())]))
        .properties(PropertyBag::builder().additional_properties(extra).build())
        .build();
    out.rank = rank;
    if !related.is_empty() {
        out.related_locations = Some(related);
    }
    if let Some(justification) = &f.suppressed {
        // `accepted`: the comment is the decision (SARIF consumers that look at the status need it).
        let suppression = Suppression::builder().kind(json!("inSource")).status(json!("accepted"));
        out.suppressions = Some(vec![suppression.justification(justification.clone()).build()]);
    }
    out.baseline_state = f.baseline.map(|b| json!(b.as_str()));
    if !f.flow.is_empty() {
        out.code_flows = Some(vec![code_flow(report, path, &f.flow)]);
    }
    if let Some(fix) = &f.fix {
        out.fixes = Some(vec![sarif_fix(report, path, fix)]);
    }
    out
}

/// A finding's fix as SARIF `fixes[]`: one artifact change (the finding's file) whose replacements
/// delete a line/column region (empty for an insertion) and insert text; the applicability is a
/// property (`safe`, or `unsafe`: changes behaviour, review it).
fn sarif_fix(report: &Report, path: &str, fix: &crate::finding::Fix) -> SarifFix {
    let replacements: Vec<Replacement> = fix
        .edits
        .iter()
        .map(|e| {
            Replacement::builder()
                .deleted_region(region(&e.span, None))
                .inserted_content(ArtifactContent::builder().text(e.replacement.clone()).build())
                .build()
        })
        .collect();
    let change = ArtifactChange::builder().artifact_location(artifact(report, path)).replacements(replacements).build();
    let extra = BTreeMap::from([("applicability".to_string(), json!(fix.applicability.as_str()))]);
    SarifFix::builder()
        .description(Message::builder().text(fix.title.clone()).build())
        .artifact_changes(vec![change])
        .properties(PropertyBag::builder().additional_properties(extra).build())
        .build()
}

/// A baseline result no longer found, re-emitted with `baselineState: absent`.
fn absent(old: &Value) -> Option<SarifResult> {
    let mut r: SarifResult = serde_json::from_value(old.clone()).ok()?;
    r.baseline_state = Some(json!("absent"));
    r.rule_index = None;
    r.suppressions = None;
    Some(r)
}

fn code_flow(report: &Report, path: &str, steps: &[Related]) -> CodeFlow {
    let locations: Vec<ThreadFlowLocation> = steps
        .iter()
        .map(|s| {
            let at = s.path.as_deref().unwrap_or(path);
            ThreadFlowLocation::builder().location(location(report, at, &s.span, None, Some(&s.message))).build()
        })
        .collect();
    CodeFlow::builder().thread_flows(vec![ThreadFlow::builder().locations(locations).build()]).build()
}

fn notification(report: &Report, n: &Notification) -> serde_sarif::sarif::Notification {
    let mut out = serde_sarif::sarif::Notification::builder()
        .message(Message::builder().text(n.message.clone()).build())
        .level(json!(n.level.as_str()))
        .descriptor(ReportingDescriptorReference::builder().id(n.id).build())
        .build();
    if let Some(path) = &n.path {
        let physical = PhysicalLocation::builder().artifact_location(artifact(report, path));
        let physical = match n.line {
            Some(line) => physical.region(Region::builder().start_line(line as i64).build()).build(),
            None => physical.build(),
        };
        out.locations = Some(vec![Location::builder().physical_location(physical).build()]);
    }
    out
}
