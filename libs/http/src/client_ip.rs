//! The client's address, resolved once per request for every per-address limit.
//!
//! Behind a proxy the TCP peer is the proxy, and the client is named in
//! `X-Forwarded-For` (or `Forwarded`). Anyone can write those headers, so only the
//! entries appended by proxies we trust count: the list is read from the right, past
//! every trusted hop, and the first untrusted entry is the client. A request whose
//! peer is not a trusted proxy is taken at its peer address, whatever it claims.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The resolved client address of a request, in its extensions; absent only where
/// the server gives no peer address (a router driven without a listener).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The address from a request's extensions, if resolved.
    pub fn of(extensions: &axum::http::Extensions) -> Option<IpAddr> {
        extensions.get::<ClientIp>().map(|c| c.0)
    }
}

/// The proxies whose forwarding headers are believed (e.g. the ingress controller's
/// pod network). Empty: no header is believed and the peer address is the client.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

/// A trusted-proxy list that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not an address or CIDR range (e.g. 10.0.0.0/8, 127.0.0.1, fd00::/8)")]
pub struct BadProxyRange(String);

impl TrustedProxies {
    /// No trusted proxy.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses a comma-separated list of CIDR ranges or single addresses.
    pub fn parse(list: &str) -> Result<Self, BadProxyRange> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = IpNet::from_str(item)
                .or_else(|_| IpAddr::from_str(item).map(IpNet::from))
                .map_err(|_| BadProxyRange(item.to_owned()))?;
            nets.push(net);
        }
        Ok(Self(Arc::new(nets)))
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|net| net.contains(&address))
    }

    /// The client address of a request from `peer` with `headers`.
    pub fn resolve(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_chain(headers);
        // Right to left: each entry was appended by the hop after it; stop at the first
        // one that is not one of our proxies. An entry that does not parse cannot be
        // checked, so the last trusted hop before it stands for the client.
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(address) => {
                    client = *address;
                    if !self.trusts(*address) {
                        return client;
                    }
                }
                None => return client,
            }
        }
        client
    }
}

/// An IPv4 address mapped into IPv6 (`::ffff:a.b.c.d`) as the IPv4 address, so one
/// client is one key whichever way the socket reported it.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// The forwarding chain, oldest hop first: `X-Forwarded-For` when present (every
/// instance of the header, in order), else the `for=` parameters of `Forwarded`.
/// An entry that is not an address is `None`.
fn forwarded_chain(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if !xff.is_empty() {
        return xff
            .iter()
            .flat_map(|v| v.split(','))
            .map(|entry| parse_node(entry.trim()))
            .collect();
    }
    headers
        .get_all(axum::http::header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, v)| parse_node(v.trim().trim_matches('"')))
        })
        .collect()
}

/// An address as forwarding headers write it: `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:4711`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    if let Ok(address) = IpAddr::from_str(raw) {
        return Some(canonical(address));
    }
    if let Ok(socket) = SocketAddr::from_str(raw) {
        return Some(canonical(socket.ip()));
    }
    raw.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| IpAddr::from_str(r).ok())
        .map(canonical)
}

/// Middleware: puts the request's [`ClientIp`] in its extensions.
pub async fn resolve_client_ip(
    trusted: TrustedProxies,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(peer) = peer {
        let client = trusted.resolve(peer, request.headers());
        request.extensions_mut().insert(ClientIp(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).expect("a header value"));
        }
        h
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() {
        let t = TrustedProxies::none();
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(t.resolve(ip("10.0.0.5"), &h), ip("10.0.0.5"));
    }

    #[test]
    fn a_peer_that_is_not_trusted_is_the_client() {
        let t = TrustedProxies::parse("10.0.0.0/8").expect("a list");
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(t.resolve(ip("203.0.113.9"), &h), ip("203.0.113.9"));
    }

    #[test]
    fn the_right_most_untrusted_entry_is_the_client_not_the_left_most() {
        let t = TrustedProxies::parse("10.0.0.0/8, 192.168.1.1").expect("a list");
        // The client wrote "6.6.6.6" itself; the ingress appended the real address.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 192.168.1.1")]);
        assert_eq!(t.resolve(ip("10.1.2.3"), &h), ip("198.51.100.7"));
    }

    #[test]
    fn several_header_lines_are_one_list_in_order() {
        let t = TrustedProxies::parse("10.0.0.0/8").expect("a list");
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.7, 10.0.0.2"),
        ]);
        assert_eq!(t.resolve(ip("10.1.2.3"), &h), ip("198.51.100.7"));
    }

    #[test]
    fn when_every_hop_is_trusted_the_left_most_is_the_client() {
        let t = TrustedProxies::parse("10.0.0.0/8").expect("a list");
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.2")]);
        assert_eq!(t.resolve(ip("10.1.2.3"), &h), ip("10.9.9.9"));
    }

    #[test]
    fn garbage_in_the_chain_stops_at_the_last_trusted_hop() {
        let t = TrustedProxies::parse("10.0.0.0/8").expect("a list");
        let h = headers(&[("x-forwarded-for", "1.1.1.1, not-an-ip, 10.0.0.2")]);
        assert_eq!(t.resolve(ip("10.1.2.3"), &h), ip("10.0.0.2"));
        // A trusted proxy that sent no header at all is itself the client.
        assert_eq!(t.resolve(ip("10.1.2.3"), &HeaderMap::new()), ip("10.1.2.3"));
    }

    #[test]
    fn the_forwarded_header_is_read_when_x_forwarded_for_is_absent() {
        let t = TrustedProxies::parse("10.0.0.0/8").expect("a list");
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https, for=10.0.0.2",
        )]);
        assert_eq!(t.resolve(ip("10.1.2.3"), &h), ip("2001:db8::7"));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        let t = TrustedProxies::parse("127.0.0.1").expect("a list");
        let h = headers(&[("x-forwarded-for", "198.51.100.7:5555")]);
        assert_eq!(t.resolve(ip("::ffff:127.0.0.1"), &h), ip("198.51.100.7"));
        let h = headers(&[("x-forwarded-for", "[2001:db8::1]")]);
        assert_eq!(t.resolve(ip("127.0.0.1"), &h), ip("2001:db8::1"));
    }

    #[test]
    fn a_bad_range_is_refused_by_name() {
        let err = TrustedProxies::parse("10.0.0.0/8, ten").expect_err("refused");
        assert!(err.to_string().contains("`ten`"));
        assert!(TrustedProxies::parse("").expect("empty is fine").is_empty());
    }
}
