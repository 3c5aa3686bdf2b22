//! Every request to an outside provider goes through [`Outbound`]: a URL the
//! township typed (a robot's webhook, another system's endpoint) must not reach into
//! the deployment's own network. Addresses that are loopback, private, link-local,
//! shared (CGNAT), unique-local, multicast or unspecified are refused, whether the URL
//! names them or its host name resolves to them, unless the operator allows them with
//! `MASHANG_OUTBOUND_ALLOW` (a comma-separated list of CIDRs, e.g. `10.8.0.0/16` for a
//! county's own platform, or `127.0.0.0/8` for a test's local fakes). Redirects are
//! not followed, and answers are read up to 64 KB.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;

/// The most of an answer read.
const MAX_ANSWER: usize = 64 * 1024;

/// Which addresses outside requests may reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OutboundPolicy {
    allow: Vec<IpNet>,
}

impl OutboundPolicy {
    /// Public addresses only.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Public addresses and the networks listed (`10.0.0.0/8, 127.0.0.1/32`; a plain
    /// address counts as one host).
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut allow = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = item
                .parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{item:?} is not a CIDR (such as 10.0.0.0/8)"))?;
            allow.push(net);
        }
        Ok(Self { allow })
    }

    /// Whether a request may go to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.allow.iter().any(|n| n.contains(&ip)) || is_public(ip)
    }
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || o[0] == 0
                // Shared address space (CGNAT), 100.64.0.0/10.
                || (o[0] == 100 && (64..128).contains(&o[1]))
                // Benchmarking, 198.18.0.0/15; reserved, 240.0.0.0/4.
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local fc00::/7, link-local fe80::/10, documentation 2001:db8::/32.
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The address is not allowed (or the URL is not one we send to).
    #[error("{0}")]
    Refused(String),
    /// The network failed (DNS, connect, TLS, reset) or the time ran out.
    #[error("network: {0}")]
    Network(String),
}

/// A provider's answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    /// `Retry-After` in seconds, when given.
    pub retry_after: Option<Duration>,
    /// The body, up to 64 KB, as text.
    pub body: String,
}

/// The HTTP client for outside providers.
#[derive(Clone, Debug)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<OutboundPolicy>,
}

/// Makes ring the process's TLS provider (once; later calls do nothing). Every HTTP
/// client of the process needs one before it is built: the providers' APIs are HTTPS.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Outbound {
    /// A client under `policy`, giving up on a request after `timeout`.
    pub fn new(policy: OutboundPolicy, timeout: Duration) -> anyhow::Result<Self> {
        install_tls();
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(Guard(policy.clone())))
            .user_agent("mashang-notification")
            .build()?;
        Ok(Self { client, policy })
    }

    /// The policy its requests are under (the e-mail adapter filters a mail server's
    /// addresses by it too).
    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// POSTs `body` to `url` with `headers`.
    pub async fn post(
        &self,
        url: &reqwest::Url,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Reply, SendError> {
        self.check_url(url)?;
        let mut request = self.client.post(url.clone());
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let response = request.body(body).send().await.map_err(|e| {
            let text = describe(&e);
            if text.contains(REFUSED_MARK) {
                SendError::Refused(text)
            } else {
                SendError::Network(text)
            }
        })?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| SendError::Network(describe(&e)))?
        {
            let room = MAX_ANSWER.saturating_sub(body.len());
            body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if body.len() >= MAX_ANSWER {
                break;
            }
        }
        Ok(Reply {
            status,
            retry_after,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// Refuses a URL that is not http(s), carries credentials, or names a refused
    /// address literally (a host name is checked as it resolves).
    pub fn check_url(&self, url: &reqwest::Url) -> Result<(), SendError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SendError::Refused(format!(
                "只能发送到 http(s) 地址 (only http and https URLs, not {})",
                url.scheme()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(SendError::Refused(
                "地址中不能带用户名和密码 (no credentials in the URL)".to_owned(),
            ));
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            Some(url::Host::Domain(_)) => None,
            None => return Err(SendError::Refused("地址没有主机 (no host)".to_owned())),
        };
        if let Some(ip) = literal
            && !self.policy.permits(ip)
        {
            return Err(SendError::Refused(refused(ip)));
        }
        Ok(())
    }
}

fn refused(ip: IpAddr) -> String {
    format!(
        "不允许发送到内网或本机地址 {ip} (private, loopback and link-local addresses are refused; see MASHANG_OUTBOUND_ALLOW)"
    )
}

/// The error and its causes, without the URL (which may hold a robot's key).
fn describe(err: &reqwest::Error) -> String {
    let mut text = if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Resolves host names and drops the addresses the policy refuses.
#[derive(Debug)]
struct Guard(Arc<OutboundPolicy>);

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if allowed.is_empty() {
                let shown = found
                    .first()
                    .map_or_else(|| host.clone(), |a| a.ip().to_string());
                return Err(refused_error(&shown));
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// The words a refused resolution carries up through the client's error.
const REFUSED_MARK: &str = "address refused by the outbound policy";

fn refused_error(what: &str) -> Box<dyn std::error::Error + Send + Sync> {
    format!("{REFUSED_MARK}: {what}").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_refused_unless_listed() {
        let public = OutboundPolicy::public_only();
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!public.permits(bad.parse().expect("an address")), "{bad}");
        }
        for good in ["203.0.113.1", "8.8.8.8", "2400:3200::1"] {
            // 203.0.113.0/24 is documentation: refused too.
            let ip: IpAddr = good.parse().expect("an address");
            assert_eq!(public.permits(ip), good != "203.0.113.1", "{good}");
        }
        let local = OutboundPolicy::parse("127.0.0.0/8, 10.8.0.0/16,192.168.5.5").expect("parses");
        assert!(local.permits("127.0.0.1".parse().expect("an address")));
        assert!(local.permits("10.8.3.4".parse().expect("an address")));
        assert!(local.permits("192.168.5.5".parse().expect("an address")));
        assert!(!local.permits("10.9.0.1".parse().expect("an address")));
        assert!(OutboundPolicy::parse("10.0.0.0/33").is_err());
        assert!(OutboundPolicy::parse("nonsense").is_err());
    }

    #[tokio::test]
    async fn urls_naming_refused_addresses_or_hosts_resolving_to_them_get_no_request() {
        let out =
            Outbound::new(OutboundPolicy::public_only(), Duration::from_secs(2)).expect("a client");
        for url in [
            "http://127.0.0.1:9/x",
            "http://[::1]:9/x",
            "http://169.254.169.254/latest/meta-data",
            "ftp://example.com/",
            "http://user:pw@example.com/",
        ] {
            let url = reqwest::Url::parse(url).expect("a URL");
            let err = out
                .post(&url, &[], Vec::new())
                .await
                .expect_err(url.as_str());
            assert!(matches!(err, SendError::Refused(_)), "{url}: {err}");
        }
        // A name that resolves to loopback: refused at resolution, never connected.
        let url = reqwest::Url::parse("http://localhost:9/x").expect("a URL");
        let err = out.post(&url, &[], Vec::new()).await.expect_err("refused");
        assert!(matches!(err, SendError::Refused(_)), "{err}");
    }
}
