//! The sensitive-name classifier: a name is split into words (snake_case, camelCase, `-`, `:`, `.`,
//! digits) and matched word by word, never by substring, so `shared_secret` is a secret and
//! `tokenizer`, `passthrough` or `bypass` are not. A name whose last word says it is metadata about a
//! secret (`secret_ref_id`, `token_expiry`, `max_password_length`, `password_policy_enabled`), or a
//! predicate (`is_*`, `has_*`), is not sensitive.

use crate::config::SensitiveSettings;

/// Why a value is sensitive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Passwords, passphrases, tokens, secrets, credentials, pre-shared keys.
    Credential,
    /// Private keys, API keys, encryption and Fernet keys.
    KeyMaterial,
    /// Values that embed credentials: `transport_url`, database connection strings, DSNs.
    ConnectionString,
    /// Dictionaries that carry credentials among other things: a volume's `connection_info`, which
    /// holds the CHAP `auth_password` of an iSCSI target (sensitive only where the module deals in
    /// CHAP credentials, see [`super::sources`]).
    CredentialDict,
}

impl Class {
    /// The `sensitivity` property value.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Credential => "credential",
            Class::KeyMaterial => "key-material",
            Class::ConnectionString => "connection-string",
            Class::CredentialDict => "credential-dict",
        }
    }

    /// A noun phrase for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Class::Credential => "a credential",
            Class::KeyMaterial => "key material",
            Class::ConnectionString => "a connection string that embeds credentials",
            Class::CredentialDict => "a connection-info dict that carries the target's credentials",
        }
    }
}

/// What made a name sensitive: the matched word (phrases joined with `_`) and its class.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub word: String,
    pub class: Class,
}

/// Single words that make a name sensitive (lower case; includes oslo.utils' `_SANITIZE_KEYS`
/// vocabulary as it splits into words).
const WORDS: &[(&str, Class)] = &[
    ("password", Class::Credential),
    ("passwords", Class::Credential),
    ("passwd", Class::Credential),
    ("pwd", Class::Credential),
    ("pswd", Class::Credential),
    ("passphrase", Class::Credential),
    ("passphrases", Class::Credential),
    ("chappassword", Class::Credential),
    ("adminpass", Class::Credential),
    ("secret", Class::Credential),
    ("secrets", Class::Credential),
    ("token", Class::Credential),
    ("credential", Class::Credential),
    ("credentials", Class::Credential),
    ("psk", Class::Credential),
    ("apikey", Class::KeyMaterial),
    ("privatekey", Class::KeyMaterial),
    ("fernetkey", Class::KeyMaterial),
    ("sslkey", Class::KeyMaterial),
    ("cephxkey", Class::KeyMaterial),
    ("dsn", Class::ConnectionString),
];

/// Word sequences that make a name sensitive where no single word does.
const PHRASES: &[(&[&str], Class)] = &[
    (&["admin", "pass"], Class::Credential),
    (&["new", "pass"], Class::Credential),
    (&["old", "pass"], Class::Credential),
    (&["auth", "pass"], Class::Credential),
    (&["user", "pass"], Class::Credential),
    (&["root", "pass"], Class::Credential),
    (&["db", "pass"], Class::Credential),
    (&["auth", "tokens"], Class::Credential),
    (&["access", "tokens"], Class::Credential),
    (&["refresh", "tokens"], Class::Credential),
    (&["service", "tokens"], Class::Credential),
    (&["api", "key"], Class::KeyMaterial),
    (&["private", "key"], Class::KeyMaterial),
    (&["fernet", "key"], Class::KeyMaterial),
    (&["encryption", "key"], Class::KeyMaterial),
    (&["encrypted", "key"], Class::KeyMaterial),
    (&["ssl", "key"], Class::KeyMaterial),
    (&["tls", "key"], Class::KeyMaterial),
    (&["cephx", "key"], Class::KeyMaterial),
    (&["signing", "key"], Class::KeyMaterial),
    (&["secret", "key"], Class::KeyMaterial),
    (&["preshared", "key"], Class::Credential),
    (&["pre", "shared", "key"], Class::Credential),
    (&["transport", "url"], Class::ConnectionString),
    (&["db", "connection"], Class::ConnectionString),
    (&["database", "connection"], Class::ConnectionString),
    (&["sql", "connection"], Class::ConnectionString),
    (&["connection", "info"], Class::CredentialDict),
    (&["conn", "info"], Class::CredentialDict),
    (&["connection", "properties"], Class::CredentialDict),
];

/// Last words that say the value is *about* a secret, not the secret itself.
const METADATA: &[&str] = &[
    "id",
    "ids",
    "uuid",
    "uuids",
    "ref",
    "refs",
    "href",
    "count",
    "counts",
    "len",
    "length",
    "num",
    "number",
    "type",
    "types",
    "kind",
    "name",
    "names",
    "enabled",
    "disabled",
    "required",
    "policy",
    "policies",
    "expiry",
    "expires",
    "expiration",
    "expire",
    "expired",
    "at",
    "file",
    "files",
    "filename",
    "path",
    "paths",
    "dir",
    "url",
    "urls",
    "uri",
    "endpoint",
    "hash",
    "hashed",
    "digest",
    "mask",
    "masked",
    "format",
    "size",
    "timeout",
    "ttl",
    "prefix",
    "suffix",
    "version",
    "field",
    "fields",
    "key",
    "keys",
    "header",
    "headers",
    "option",
    "opt",
    "opts",
    "help",
    "label",
    "pattern",
    "regex",
    "template",
    "plugin",
    "provider",
    "manager",
    "driver",
    "api",
    "client",
    "cache",
    "store",
    "backend",
    "generator",
    "validator",
    "handler",
    "helper",
    "check",
    "checker",
    "status",
    "state",
    "error",
    "errors",
    "exc",
    "exception",
    "changed",
    "set",
    "present",
    "provided",
    "supplied",
    "used",
    "valid",
    "validated",
    "min",
    "max",
    "limit",
    "rule",
    "rules",
    "section",
    "group",
    "attr",
    "attribute",
    "attributes",
    "index",
    "idx",
    "strength",
    "complexity",
    "history",
    "age",
    "lifetime",
    "duration",
    "time",
    "timestamp",
    "date",
    "created",
    "updated",
    "owner",
    "user",
    "project",
    "scope",
    "method",
    "methods",
    "location",
    "host",
    "port",
    "algorithm",
    "algo",
    "bits",
    "salt",
    "cls",
    "class",
    "module",
    "fingerprint",
    "meta",
    "metadata",
    "reason",
    "msg",
    "message",
    "description",
    "desc",
    "schema",
    "prompt",
    "hint",
    "link",
    "links",
    "loader",
    "factory",
    "builder",
    "serializer",
    "callback",
    "hook",
    "func",
    "function",
    "lock",
    "supported",
    "allowed",
    "enforced",
    "mode",
    "only",
    "auth",
    "profile",
    "source",
    "request",
    "response",
    "resp",
    "req",
    "ctx",
    "context",
    "payload",
    "obj",
    "object",
    "model",
    "container",
    "fmt",
    "arg",
    "args",
];

/// Words that may follow the sensitive word and still name the secret itself: `token_value`,
/// `password_str`, `creds_dict`. Any other word after it makes the name metadata about the secret
/// (`secret_usage`, `private_key_repository`, `token_expiry`).
const VALUE_SUFFIXES: &[&str] = &[
    "value",
    "values",
    "val",
    "str",
    "string",
    "text",
    "bytes",
    "b64",
    "base64",
    "encoded",
    "plain",
    "plaintext",
    "cleartext",
    "raw",
    "hex",
    "dict",
    "list",
    "param",
    "params",
    "input",
    "entry",
];

/// Words before `token` that make it a lexer, path or pagination token, not a credential.
const NOT_BEFORE_TOKEN: &[&str] = &[
    "path",
    "url",
    "uri",
    "query",
    "split",
    "line",
    "string",
    "str",
    "word",
    "name",
    "parse",
    "parsed",
    "search",
    "lexer",
    "page",
    "next",
    "prev",
    "marker",
    "continuation",
    "sync",
    "cmd",
    "command",
    "version",
    "format",
    "fmt",
    "template",
    "regex",
    "sql",
    "css",
    "csv",
    "input",
    "arg",
    "cli",
    "shell",
    // Handles of pending operations: an opaque id a caller quotes back (senlin's
    // `lifecycle_action_token`, idempotency and change tokens), not an authenticator.
    "action",
    "lifecycle",
    "hook",
    "event",
    "operation",
    "job",
    "task",
    "idempotency",
    "correlation",
    "change",
    "resume",
    "sequence",
    "cancellation",
    "cancel",
];

/// Credential words that are written run together with a qualifier (`sourcetoken`, `authtoken`,
/// `adminpassword`): split off as their own word when what precedes them is a [`COMPOUND_PREFIXES`]
/// word (so `keystoneauthtoken` is `keystone auth token`, and `bytoken` stays one word).
const COMPOUND_STEMS: &[&str] = &["token", "tokens", "password", "passwd", "secret"];

/// Qualifiers that run into a credential word in option and parameter names.
const COMPOUND_PREFIXES: &[&str] = &[
    "auth", "source", "target", "admin", "user", "service", "access", "refresh", "keystone", "os", "root", "db",
    "preauth", "bearer", "session", "client", "app", "new", "old", "ks", "sys", "api", "subject", "trust",
];

/// Oslo.config group names that end in a credential word: a group is a namespace of options, not a
/// value (`CONF.keystone_authtoken.auth_url`).
const GROUP_NAMES: &[&str] = &["keystone_authtoken"];

/// First words of predicates and counters: `is_token_valid`, `has_password`, `num_tokens`.
const NOT_FIRST: &[&str] = &[
    "is", "has", "have", "use", "uses", "should", "need", "needs", "allow", "allows", "enable", "disable", "require",
    "requires", "can", "must", "no", "num", "max", "min", "count", "total", "len", "n", "mask", "masked", "masking",
    "redact", "redacted", "hide", "show",
];

/// Does `name` name a file-system location (`swift_store_config_file`, `key_path`, `certs_dir`)? Its
/// value is a path, not the secret it may lead to, even when the option is declared `secret=True`.
pub fn is_path_name(name: &str) -> bool {
    const PATH_WORDS: &[&str] = &["file", "files", "filename", "filepath", "path", "paths", "dir", "directory"];
    split_words(name).last().is_some_and(|w| PATH_WORDS.contains(&w.as_str()))
}

/// First words that, followed by `to`, `of` or `for`, make the name a reference to a secret rather
/// than the secret (`path_to_private_key`, `file_of_password`).
const REFERENCE_FIRST: &[&str] = &["path", "file", "filename", "filepath", "dir", "directory", "location"];

/// Splits a name into lower-case words at `_`, `-`, `:`, `.`, spaces, camelCase humps and digits.
pub fn split_words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut words = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if let Some(&prev) = i.checked_sub(1).and_then(|p| chars.get(p)) {
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let hump = (prev.is_lowercase() && c.is_uppercase())
                || (prev.is_uppercase() && c.is_uppercase() && next_lower)
                || (prev.is_ascii_digit() != c.is_ascii_digit() && prev.is_alphanumeric());
            if hump && !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        }
        cur.extend(c.to_lowercase());
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Splits a run-together `<qualifier><credential word>` (`sourcetoken`, `keystoneauthtoken`) into
/// its words; any other word is returned as it is.
fn split_compound(word: &str) -> Vec<String> {
    let Some(stem) = COMPOUND_STEMS.iter().find(|s| word.len() > s.len() && word.ends_with(*s)) else {
        return vec![word.to_string()];
    };
    let mut rest = &word[..word.len() - stem.len()];
    let mut out = Vec::new();
    // Peel qualifiers from the front: `keystoneauth` is `keystone` + `auth`.
    while !rest.is_empty() {
        let Some(p) = COMPOUND_PREFIXES.iter().filter(|p| rest.starts_with(*p)).max_by_key(|p| p.len()) else {
            return vec![word.to_string()];
        };
        out.push(p.to_string());
        rest = &rest[p.len()..];
    }
    out.push(stem.to_string());
    out
}

/// Classifies a name (an identifier, attribute, dictionary key or option name).
pub fn classify(name: &str) -> Option<Match> {
    if GROUP_NAMES.iter().any(|g| g.eq_ignore_ascii_case(name)) {
        return None;
    }
    let words: Vec<String> = split_words(name).iter().flat_map(|w| split_compound(w)).collect();
    let last = words.last()?;
    if words.len() > 1 && words.first().is_some_and(|w| NOT_FIRST.contains(&w.as_str())) {
        return None;
    }
    if words.len() > 2
        && REFERENCE_FIRST.contains(&words[0].as_str())
        && ["to", "of", "for"].contains(&words[1].as_str())
    {
        return None;
    }
    // The rightmost sensitive word or phrase, and whether it ends the name.
    let mut best: Option<(usize, Match)> = None;
    for (i, w) in words.iter().enumerate() {
        if let Some((_, class)) = WORDS.iter().find(|(v, _)| v == w) {
            best = Some((i, Match { word: w.clone(), class: *class }));
        }
        for (phrase, class) in PHRASES {
            let end = i + phrase.len();
            if end <= words.len() && words[i..end].iter().zip(phrase.iter()).all(|(a, b)| a == b) {
                let at = end - 1;
                if best.as_ref().is_none_or(|(j, _)| at >= *j) {
                    best = Some((at, Match { word: phrase.join("_"), class: *class }));
                }
            }
        }
    }
    let (at, m) = best?;
    if METADATA.contains(&last.as_str()) && at + 1 != words.len() {
        return None;
    }
    if words[at + 1..].iter().any(|w| !VALUE_SUFFIXES.contains(&w.as_str())) {
        return None;
    }
    let start = at + 1 - m.word.split('_').count();
    if m.word == "token" && start > 0 && NOT_BEFORE_TOKEN.contains(&words[start - 1].as_str()) {
        return None;
    }
    Some(m)
}

/// [`classify`] with the configured vocabulary (`[sensitive] extra-words / allow-words`): an allowed
/// word never makes a name sensitive; an extra word does, as a credential, when it ends the name
/// (or only value suffixes follow it).
pub fn classify_with(name: &str, vocab: &SensitiveSettings) -> Option<Match> {
    let allowed = |w: &str| vocab.allow_words.iter().any(|a| a.eq_ignore_ascii_case(w));
    if let Some(m) = classify(name) {
        return (!allowed(&m.word)).then_some(m);
    }
    if vocab.extra_words.is_empty() {
        return None;
    }
    let words = split_words(name);
    if words.len() > 1 && words.first().is_some_and(|w| NOT_FIRST.contains(&w.as_str())) {
        return None;
    }
    let at = words.iter().rposition(|w| vocab.extra_words.iter().any(|e| e.eq_ignore_ascii_case(w)))?;
    if words[at + 1..].iter().any(|w| !VALUE_SUFFIXES.contains(&w.as_str())) || allowed(&words[at]) {
        return None;
    }
    Some(Match { word: words[at].clone(), class: Class::Credential })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_vocabulary() {
        let vocab = SensitiveSettings { extra_words: vec!["vault".into()], allow_words: vec!["token".into()] };
        assert_eq!(classify_with("vault", &vocab).map(|m| m.word).as_deref(), Some("vault"));
        assert_eq!(classify_with("my_vault_value", &vocab).map(|m| m.word).as_deref(), Some("vault"));
        assert!(classify_with("vault_id", &vocab).is_none());
        assert!(classify_with("auth_token", &vocab).is_none(), "an allowed word is not sensitive");
        assert_eq!(classify_with("db_password", &vocab).map(|m| m.word).as_deref(), Some("password"));
        assert!(classify_with("vault", &SensitiveSettings::default()).is_none());
    }

    fn word(name: &str) -> Option<String> {
        classify(name).map(|m| m.word)
    }

    #[test]
    fn path_names() {
        assert!(is_path_name("swift_store_config_file") && is_path_name("keyPath") && is_path_name("certs_dir"));
        assert!(!is_path_name("transport_url") && !is_path_name("password") && !is_path_name("profile"));
    }

    #[test]
    fn splits_every_convention() {
        assert_eq!(split_words("adminPass"), ["admin", "pass"]);
        assert_eq!(split_words("X-Auth-Token"), ["x", "auth", "token"]);
        assert_eq!(split_words("HTTPAuthToken"), ["http", "auth", "token"]);
        assert_eq!(split_words("neutron:secret_key"), ["neutron", "secret", "key"]);
        assert_eq!(split_words("password2"), ["password", "2"]);
    }

    #[test]
    fn whole_words_only() {
        for yes in [
            "password",
            "auth_token",
            "x-auth-token",
            "access_token",
            "shared_secret",
            "private_key",
            "apiKey",
            "api_key",
            "credentials",
            "psk",
            "fernet_key",
            "transport_url",
            "adminPass",
            "token_value",
            "metadata_proxy_shared_secret",
            "db_connection",
            "dsn",
            "CHAPPASSWORD",
            "new_pass",
            "secret_key",
            "auth_tokens",
            "password_str",
            "chap_secret",
            "password_dict",
            "preshared_key",
            "sourcetoken",
            "targettoken",
            "authtoken",
            "keystoneauthtoken",
            "adminpassword",
            "connection_info",
        ] {
            assert!(classify(yes).is_some(), "{yes} should be sensitive");
        }
        for no in [
            "tokenizer",
            "passthrough",
            "bypass",
            "first_pass",
            "secret_ref_id",
            "password_policy_enabled",
            "token_expiry",
            "max_password_length",
            "is_token_valid",
            "has_password",
            "token_id",
            "secret_uuid",
            "password_file",
            "keystone_url",
            "passwordless",
            "connection",
            "key",
            "monkey",
            "sha_secretive",
            "num_tokens",
            "password_key",
            "token_type",
            "auth_url",
            "secret_usage",
            "jws_private_key_repository",
            "path_tokens",
            "tokens",
            "next_token",
            "page_token",
            "supported_tpm_secret_security",
            "token_data",
            "path_to_private_key",
            "file_of_password",
            "mask_secrets",
            "masked_password",
            "lifecycle_action_token",
            "idempotency_token",
            "keystone_authtoken",
            "bytoken",
            "connection_info_id",
        ] {
            assert!(classify(no).is_none(), "{no} should not be sensitive");
        }
        assert_eq!(word("x-auth-token").as_deref(), Some("token"));
        assert_eq!(word("private_key").as_deref(), Some("private_key"));
        assert_eq!(classify("transport_url").map(|m| m.class), Some(Class::ConnectionString));
    }
}
