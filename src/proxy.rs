//! Which proxy, if any, carries a client's requests, as curl and Go users expect.
//!
//! - The option `proxy`: a URL used for every request, or `""` for none whatever the
//!   environment says.
//! - Otherwise the environment, read once per process: `HTTPS_PROXY` for `https://`
//!   targets, `HTTP_PROXY` for `http://` ones, `ALL_PROXY` for either when the other is
//!   unset (each in upper or lower case, upper case first), and `NO_PROXY`, matched by
//!   hyper-util's matcher, the one reqwest itself uses (host names and their subdomains, a
//!   leading dot optional, IP addresses, CIDR ranges, `*`), plus what Go reads and that
//!   matcher does not: `*.example.com` (its subdomains, not `example.com` itself) and an
//!   entry's port (`host:443` counts for that port only).
//!
//! What reqwest and hyper-util do otherwise, and the library does not:
//! - Loopback (`localhost`, `127.0.0.0/8`, `::1`) is never proxied from the environment, as
//!   in Go, so a shell's proxy never captures a local emulator (reqwest proxies it).
//! - A non-empty `REQUEST_METHOD` (a CGI program, where a client could set `HTTP_PROXY`
//!   through a `Proxy:` header) makes `HTTP_PROXY` ignored, as Go does; hyper-util then
//!   ignores every variable, even when `REQUEST_METHOD` is empty.
//! - A proxy URL of a scheme the library cannot use is refused by name, where hyper-util
//!   ignores it silently and the request would go out unproxied. `socks://` (what GNOME
//!   exports) is SOCKS4, as curl reads it.
//!
//! A client talks to one host, so the choice is made once, when it is created; reqwest
//! then carries every request through it: `https://` services through a CONNECT tunnel,
//! `http://` ones in absolute form, or SOCKS. Credentials in the proxy URL are sent
//! (`Proxy-Authorization: Basic`, or SOCKS5's user and password), and never shown: messages
//! and the log name the proxy as [`Proxy::shown`].

use std::net::IpAddr;
use std::sync::LazyLock;

use hyper_util::client::proxy::matcher::Matcher;

use crate::error::{invalid_named_argument, without_userinfo, ApiError};

/// The schemes a proxy URL may have.
const SCHEMES: [&str; 6] = ["http", "https", "socks4", "socks4a", "socks5", "socks5h"];

/// The proxy of a client.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    /// Credentials included, as reqwest takes it.
    url: url::Url,
    /// Where it was configured: `proxy` (the option) or the environment variable's name.
    pub origin: &'static str,
}

/// Without credentials, like every other way the proxy is shown.
impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.shown())
            .field("origin", &self.origin)
            .finish()
    }
}

impl Proxy {
    /// `scheme://host:port` without credentials, for messages and the log.
    pub fn shown(&self) -> String {
        let host = self.host();
        match self.url.port_or_known_default() {
            Some(port) => format!("{}://{host}:{port}", self.url.scheme()),
            // SOCKS has no default port in URLs; curl and reqwest take 1080.
            None => format!("{}://{host}:1080", self.url.scheme()),
        }
    }

    /// The proxy's host name or address.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or("?")
    }

    /// Whether the connection to the proxy itself is TLS.
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    pub fn is_socks(&self) -> bool {
        self.url.scheme().starts_with("socks")
    }

    /// The proxy for every request of a reqwest client.
    pub fn for_reqwest(&self) -> Result<reqwest::Proxy, ApiError> {
        reqwest::Proxy::all(self.url.as_str()).map_err(|err| {
            invalid_named_argument(
                self.origin,
                format!("{:?} cannot be used as a proxy ({err})", self.shown()),
            )
        })
    }
}

/// The proxy variables of the environment, as read once.
struct Environment {
    http: Option<(&'static str, String)>,
    https: Option<(&'static str, String)>,
    all: Option<(&'static str, String)>,
    no_proxy: String,
}

static ENVIRONMENT: LazyLock<Environment> = LazyLock::new(|| {
    let cgi = std::env::var_os("REQUEST_METHOD").is_some_and(|method| !method.is_empty());
    Environment {
        http: if cgi {
            None
        } else {
            variable(["HTTP_PROXY", "http_proxy"])
        },
        https: variable(["HTTPS_PROXY", "https_proxy"]),
        all: variable(["ALL_PROXY", "all_proxy"]),
        no_proxy: variable(["NO_PROXY", "no_proxy"])
            .map(|(_, value)| value)
            .unwrap_or_default(),
    }
});

fn variable(names: [&'static str; 2]) -> Option<(&'static str, String)> {
    names.into_iter().find_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|value| !value.trim().is_empty())
            .map(|value| (name, value.trim().to_owned()))
    })
}

/// The proxy for requests to `target`: from the option when given (`""`: none), else from
/// the environment.
pub fn for_target(option: Option<&str>, target: &url::Url) -> Result<Option<Proxy>, ApiError> {
    if let Some(option) = option {
        let option = option.trim();
        if option.is_empty() {
            return Ok(None);
        }
        return parse("proxy", option).map(Some);
    }
    let environment = &*ENVIRONMENT;
    let chosen = match target.scheme() {
        "https" => environment.https.as_ref(),
        _ => environment.http.as_ref(),
    }
    .or(environment.all.as_ref());
    let Some((name, value)) = chosen else {
        return Ok(None);
    };
    let host = target.host_str().unwrap_or_default();
    if is_loopback(host) {
        return Ok(None);
    }
    let proxy = parse(name, value)?;
    if exempted(&environment.no_proxy, target, &proxy) {
        return Ok(None);
    }
    Ok(Some(proxy))
}

/// Reads a proxy URL; one without a scheme is taken as `http://`, as curl and Go do.
fn parse(origin: &'static str, text: &str) -> Result<Proxy, ApiError> {
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let refuse = |why: &str| {
        invalid_named_argument(
            origin,
            format!(
                "{:?} {why}; pass a proxy URL such as http://proxy.example.com:3128 or \
                 socks5h://proxy.example.com:1080",
                without_userinfo(text)
            ),
        )
    };
    let mut url = url::Url::parse(&with_scheme)
        .map_err(|err| refuse(&format!("is not a valid URL ({err})")))?;
    if url.scheme() == "socks" {
        // Both schemes are not "special" to the URL standard, so this cannot fail.
        let _ = url.set_scheme("socks4");
    }
    if !SCHEMES.contains(&url.scheme()) {
        return Err(refuse(&format!(
            "has the scheme {}://, which the library does not support (it supports {})",
            url.scheme(),
            SCHEMES.map(|scheme| format!("{scheme}://")).join(", ")
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("has no host"));
    }
    let proxy = Proxy { url, origin };
    // reqwest's own reading of the URL, so that a value it refuses is refused now.
    proxy.for_reqwest()?;
    Ok(proxy)
}

/// `localhost`, or a loopback address.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether `NO_PROXY` exempts `target` from `proxy`.
/// Entries with a port (`host:443`, `[::1]:8443`) count only for that port, as in Go (the
/// matcher reads none); the others go to the matcher as they are.
fn exempted(no_proxy: &str, target: &url::Url, proxy: &Proxy) -> bool {
    let host = target.host_str().unwrap_or_default().to_ascii_lowercase();
    let port = target.port_or_known_default();
    let subdomain_of = |domain: &str| {
        host.strip_suffix(&domain.to_ascii_lowercase())
            .is_some_and(|start| start.len() > 1 && start.ends_with('.'))
    };
    let mut for_the_matcher = Vec::new();
    for entry in no_proxy.split(',').map(str::trim) {
        let (name, entry_port) = split_port(entry);
        if entry_port.is_some_and(|entry_port| Some(entry_port) != port) {
            continue;
        }
        match name.strip_prefix("*.") {
            Some(domain) if subdomain_of(domain) => return true,
            Some(_) => {}
            None => for_the_matcher.push(name),
        }
    }
    let Ok(uri) = http::Uri::try_from(format!("{}://{}/", target.scheme(), host)) else {
        return false;
    };
    Matcher::builder()
        .all(proxy.url.to_string())
        .no(for_the_matcher.join(","))
        .build()
        .intercept(&uri)
        .is_none()
}

/// `name:port` or `[v6]:port` as the name and the port; anything else (a name, an address of
/// either family, a CIDR range) as it is, with no port.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((address, tail)) = rest.split_once(']') {
            return (address, tail.strip_prefix(':').and_then(|p| p.parse().ok()));
        }
    }
    match entry.split_once(':') {
        // One colon: a port; more (an IPv6 address without brackets) are the address's own.
        Some((name, port)) if !port.contains(':') => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> url::Url {
        url::Url::parse(url).unwrap()
    }

    #[test]
    fn loopback_is_recognised() {
        for host in [
            "localhost",
            "LOCALHOST",
            "127.0.0.1",
            "127.9.9.9",
            "[::1]",
            "::1",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["10.0.0.1", "localhost.example.com", "app.altogic.test"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn proxy_urls_are_read_and_shown_without_credentials() {
        let proxy = parse("proxy", "http://user:secret@proxy.example:3128").unwrap();
        assert_eq!(proxy.shown(), "http://proxy.example:3128");
        assert!(!format!("{proxy:?}").contains("secret"));
        assert_eq!(
            parse("proxy", "proxy.example").unwrap().shown(),
            "http://proxy.example:80"
        );
        for good in [
            "socks5://p:1080",
            "socks5h://user:pw@p:1080",
            "socks4a://p:1080",
            "https://p",
        ] {
            assert!(parse("ALL_PROXY", good).is_ok(), "{good}");
        }
        let gnome = parse("all_proxy", "socks://p:1080/").unwrap();
        assert_eq!(
            gnome.shown(),
            "socks4://p:1080",
            "socks:// is SOCKS4, as curl reads it"
        );
        for bad in ["ftp://p:21", "http://", "http://exa mple:1", "quic://p:1"] {
            let error = parse("proxy", bad).unwrap_err();
            assert_eq!(error.items[0]["details"]["argument"], "proxy", "{bad}");
        }
        let error = parse("HTTPS_PROXY", "ftp://user:secret@p").unwrap_err();
        let message = error.items[0]["message"].as_str().unwrap();
        assert!(
            message.contains("HTTPS_PROXY")
                && message.contains("ftp://")
                && !message.contains("secret"),
            "{message}"
        );
    }

    /// The peers' own tables (tests/data/no_proxy.tsv says which, and what is left out).
    #[test]
    fn no_proxy_as_the_peers_tables_say() {
        let proxy = parse("HTTP_PROXY", "http://proxy.example:3128").unwrap();
        let table = include_str!("../tests/data/no_proxy.tsv");
        let mut rows = 0;
        for line in table.lines().filter(|line| !line.starts_with('#')) {
            let [no_proxy, url, expected, source] = line.split('\t').collect::<Vec<_>>()[..] else {
                panic!("a row of no_proxy.tsv is not 4 columns: {line:?}");
            };
            let target = target(url);
            let direct =
                is_loopback(target.host_str().unwrap()) || exempted(no_proxy, &target, &proxy);
            let answer = if direct { "direct" } else { "proxied" };
            assert_eq!(
                answer, expected,
                "{source}: NO_PROXY={no_proxy:?} for {url}"
            );
            rows += 1;
        }
        assert!(rows >= 40, "only {rows} rows read");
    }

    #[test]
    fn no_proxy_wildcards_cover_subdomains_only_as_in_go() {
        let proxy = parse("HTTPS_PROXY", "http://p:3128").unwrap();
        for (list, url, expected) in [
            ("*.example.com", "https://a.example.com", true),
            ("*.example.com", "https://b.a.example.com", true),
            ("*.example.com", "https://example.com", false),
            ("*.example.com", "https://badexample.com", false),
            ("example.com", "https://example.com", true),
            ("example.com", "https://a.example.com", true),
            ("example.com", "https://badexample.com", false),
            (".example.com", "https://a.example.com", true),
            ("10.0.0.0/8", "https://10.1.2.3", true),
            ("10.0.0.0/8", "https://11.1.2.3", false),
            ("*", "https://anything.test", true),
            ("", "https://anything.test", false),
        ] {
            assert_eq!(
                exempted(list, &target(url), &proxy),
                expected,
                "NO_PROXY={list} for {url}"
            );
        }
    }
}
