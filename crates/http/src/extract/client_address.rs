use std::{
    convert::Infallible,
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
};

use axum::{
    extract::{ConnectInfo, FromRequestParts},
    http::{HeaderMap, request::Parts},
};
use ipnet::IpNet;
use todos_domain::ClientAddress;

use crate::AppState;

/// Proxies whose `X-Forwarded-For` is believed (`TODOS_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<[IpNet]>);

impl TrustedProxies {
    /// A comma-separated list of CIDR networks (`10.0.0.0/8, ::1/128`);
    /// a bare address counts as a network of one.
    ///
    /// ```
    /// use todos_http::TrustedProxies;
    ///
    /// assert!(TrustedProxies::parse("10.0.0.0/8, 192.0.2.1, ::1").is_ok());
    /// assert!(TrustedProxies::parse("").unwrap().is_empty());
    /// assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
    /// ```
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is not an IP network (CIDR) or address"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|networks| Self(networks.into()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|network| network.contains(&ip))
    }

    /// The client behind `peer`: the peer itself unless it is a trusted
    /// proxy; then the rightmost `X-Forwarded-For` entry that is not
    /// itself a trusted proxy (entries further left are the client's own
    /// say and could be forged). The walk from the right stops at an entry
    /// that is not an address; when it finds only trusted proxies, the
    /// last of them it reached is the client.
    fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            let Ok(ip) = entry.trim().parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !self.contains(ip) {
                break;
            }
        }
        client
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Where the request comes from, for per-client limits (see
/// [`TrustedProxies`]); IPv6 clients are keyed by their /64.
pub struct ClientAddr(pub ClientAddress);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The server inserts the peer address; without it (a router driven
        // in process) every request counts as one unspecified client.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        let ip = state.trusted_proxies.client(peer, &parts.headers);
        Ok(Self(ClientAddress::new(ip)))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("192.0.2.9"), &forwarded(&["203.0.113.5"])),
            ip("192.0.2.9")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_entry_is_the_client() {
        let proxies = TrustedProxies::parse("10.0.0.0/8,127.0.0.1").unwrap();
        let peer = ip("127.0.0.1");
        // The client forged the first entry; the proxy appended the real one.
        assert_eq!(
            proxies.client(peer, &forwarded(&["6.6.6.6, 203.0.113.5, 10.1.2.3"])),
            ip("203.0.113.5")
        );
        assert_eq!(
            proxies.client(peer, &forwarded(&["6.6.6.6", "203.0.113.5"])),
            ip("203.0.113.5"),
            "several headers read as one list"
        );
        assert_eq!(
            proxies.client(peer, &forwarded(&["10.9.9.9, 10.1.2.3"])),
            ip("10.9.9.9"),
            "all trusted: the leftmost"
        );
        assert_eq!(proxies.client(peer, &HeaderMap::new()), peer);
        assert_eq!(
            proxies.client(ip("::ffff:10.0.0.1"), &forwarded(&["2001:db8::1"])),
            ip("2001:db8::1"),
            "an IPv4-mapped peer is matched as IPv4"
        );
        assert_eq!(
            proxies.client(ip("192.0.2.1"), &forwarded(&["203.0.113.5"])),
            ip("192.0.2.1"),
            "an untrusted peer's header is ignored"
        );
    }

    #[test]
    fn garbage_in_the_header_stops_the_walk() {
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &forwarded(&["nonsense, 203.0.113.5"])),
            ip("203.0.113.5")
        );
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &forwarded(&["203.0.113.5, nonsense"])),
            ip("127.0.0.1")
        );
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &forwarded(&["nonsense, 10.0.0.7"])),
            ip("10.0.0.7")
        );
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &forwarded(&["nonsense"])),
            ip("127.0.0.1")
        );
    }
}
