//! Which proxy, if any, carries a client's requests, as curl and Go users expect.
//!
//! - The option `proxy`: a URL used for every request, or `""` for none whatever the
//!   environment says.
//! - Otherwise the environment, read once per process: `HTTPS_PROXY` for `https://`
//!   targets, `HTTP_PROXY` for `http://` ones, `ALL_PROXY` for either when the other is
//!   unset (each in upper or lower case, upper case first, as Go reads them), and
//!   `NO_PROXY` (host names and their subdomains, IP addresses, CIDR ranges, `*`, each with
//!   an optional port). Loopback (`localhost`, `127.0.0.0/8`, `::1`) is never proxied from
//!   the environment, as in Go, so a shell's proxy never captures a local emulator.
//!   `HTTP_PROXY` is ignored when `REQUEST_METHOD` is set (a CGI program, where a client
//!   could set it through a `Proxy:` header), as Go does.
//!
//! A client talks to one host, so the choice is made once, when it is created. `https://`
//! targets go through a CONNECT tunnel, `http://` ones in absolute form; credentials in the
//! proxy URL are sent as `Proxy-Authorization` (basic), and never shown: messages and the
//! debug log name the proxy as [`Proxy::shown`].

use std::net::IpAddr;
use std::sync::LazyLock;

use base64::Engine as _;
use http::HeaderValue;
use percent_encoding::percent_decode_str;

use crate::error::{invalid_named_argument, without_userinfo, ApiError};

/// The proxy of a client.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    url: url::Url,
    /// Where it was configured: `proxy` (the option) or the environment variable's name.
    pub origin: &'static str,
    /// `Basic` credentials from the URL's user name and password, marked sensitive so that
    /// no `Debug` output shows them.
    authorization: Option<HeaderValue>,
}

/// Without credentials, like every other way the proxy is shown.
impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.shown())
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// `Proxy-Authorization` for the proxy, when its URL carries credentials.
    pub fn authorization(&self) -> Option<&HeaderValue> {
        self.authorization.as_ref()
    }

    /// `scheme://host:port` without credentials, for messages and the log.
    pub fn shown(&self) -> String {
        let host = self.url.host_str().unwrap_or("?");
        match self.url.port_or_known_default() {
            Some(port) => format!("{}://{host}:{port}", self.url.scheme()),
            None => format!("{}://{host}", self.url.scheme()),
        }
    }

    /// Whether the connection to the proxy itself is TLS.
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
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
    let cgi = std::env::var_os("REQUEST_METHOD").is_some();
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
    let port = target.port_or_known_default().unwrap_or(0);
    if is_loopback(host) || bypassed(&environment.no_proxy, host, port) {
        return Ok(None);
    }
    parse(name, value).map(Some)
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
                "{origin} {} {why}; pass a proxy URL such as http://proxy.example.com:3128.",
                shown_for_refusal(text)
            ),
        )
    };
    let url = url::Url::parse(&with_scheme)
        .map_err(|err| refuse(&format!("is not a valid URL ({err})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(refuse("is not an http:// or https:// proxy"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(refuse("has no host"));
    }
    let authorization = basic_authorization(&url)
        .map_err(|why| refuse(&format!("has credentials that cannot be sent ({why})")))?;
    Ok(Proxy {
        url,
        origin,
        authorization,
    })
}

/// `Basic base64(user:password)` from the URL's percent-decoded credentials, as curl and Go
/// send them; none without a user name or password.
fn basic_authorization(url: &url::Url) -> Result<Option<HeaderValue>, String> {
    if url.username().is_empty() && url.password().is_none() {
        return Ok(None);
    }
    let decoded = |text: &str| percent_decode_str(text).collect::<Vec<u8>>();
    let mut credentials = decoded(url.username());
    credentials.push(b':');
    credentials.extend(decoded(url.password().unwrap_or_default()));
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    let mut value =
        HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|err| err.to_string())?;
    value.set_sensitive(true);
    Ok(Some(value))
}

/// A refused proxy value, quoted without what could be a password.
fn shown_for_refusal(text: &str) -> String {
    format!("{:?}", without_userinfo(text))
}

/// `localhost`, or a loopback address.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether `NO_PROXY` exempts `host:port`.
fn bypassed(no_proxy: &str, host: &str, port: u16) -> bool {
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    no_proxy
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            let (name, entry_port) = split_port(entry);
            if entry_port.is_some_and(|entry_port| entry_port != port) {
                return false;
            }
            let name = name.to_ascii_lowercase();
            if let Some((network, bits)) = name.split_once('/') {
                return match (network.parse::<IpAddr>(), bits.parse::<u8>(), host_ip) {
                    (Ok(network), Ok(bits), Some(ip)) => in_network(ip, network, bits),
                    _ => false,
                };
            }
            if let Ok(ip) = name.parse::<IpAddr>() {
                return host_ip == Some(ip);
            }
            let domain = name.trim_start_matches("*.").trim_start_matches('.');
            host == domain || host.ends_with(&format!(".{domain}"))
        })
}

/// `name:port`, `[v6]:port`, `v6`, or `name`.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((address, tail)) => (address, tail.strip_prefix(':').and_then(|p| p.parse().ok())),
            None => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        // More than one colon without brackets: an IPv6 address (or a CIDR) alone.
        Some((name, port)) if !name.contains(':') => match port.parse() {
            Ok(port) => (name, Some(port)),
            Err(_) => (entry, None),
        },
        _ => (entry, None),
    }
}

fn in_network(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_entries_match_as_in_go_and_curl() {
        let list = "example.com, .internal, 10.0.0.0/8, 192.168.1.7, [::2]:8443, api.test:444";
        for (host, port, expected) in [
            ("example.com", 443, true),
            ("a.example.com", 443, true),
            ("badexample.com", 443, false),
            ("x.internal", 80, true),
            ("internal", 80, true),
            ("10.1.2.3", 80, true),
            ("11.1.2.3", 80, false),
            ("192.168.1.7", 80, true),
            ("::2", 8443, true),
            ("::2", 443, false),
            ("api.test", 444, true),
            ("api.test", 443, false),
            ("app.altogic.test", 443, false),
        ] {
            assert_eq!(bypassed(list, host, port), expected, "{host}:{port}");
        }
        assert!(bypassed("*", "anything", 1));
        assert!(!bypassed("", "anything", 1));
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
        assert_eq!(
            parse("proxy", "proxy.example").unwrap().shown(),
            "http://proxy.example:80"
        );
        for bad in ["socks5://p:1080", "http://", "http://exa mple:1", "ftp://x"] {
            let error = parse("proxy", bad).unwrap_err();
            assert_eq!(error.items[0]["details"]["argument"], "proxy", "{bad}");
        }
        let error = parse("HTTPS_PROXY", "ftp://user:secret@p").unwrap_err();
        let message = error.items[0]["message"].as_str().unwrap();
        assert!(
            message.contains("HTTPS_PROXY") && !message.contains("secret"),
            "{message}"
        );
    }

    #[test]
    fn credentials_become_basic_authorization_never_shown() {
        let proxy = parse("proxy", "http://us%40er:p%3Ass@proxy.example:3128").unwrap();
        let authorization = proxy.authorization().unwrap();
        // base64("us@er:p:ss")
        assert_eq!(authorization.to_str().unwrap(), "Basic dXNAZXI6cDpzcw==");
        let debug = format!("{proxy:?}");
        assert!(
            !debug.contains("dXNAZXI6cDpzcw") && !debug.contains("p%3Ass"),
            "{debug}"
        );
        assert_eq!(
            parse("proxy", "http://user@p:1")
                .unwrap()
                .authorization()
                .unwrap(),
            "Basic dXNlcjo="
        );
        assert!(parse("proxy", "http://p:1")
            .unwrap()
            .authorization()
            .is_none());
    }

    #[test]
    fn refused_values_never_show_a_password() {
        let error = parse("HTTPS_PROXY", "ftp://user:secret@p").unwrap_err();
        let message = error.items[0]["message"].as_str().unwrap();
        assert!(
            message.contains("HTTPS_PROXY") && !message.contains("secret"),
            "{message}"
        );
    }
}
