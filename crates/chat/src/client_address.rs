//! Which address a request comes from, for the per-IP limits. Behind a reverse proxy every
//! connection comes from the proxy, so one visitor would spend everyone's allowance (and one
//! guesser get everyone a 429). Proxies listed in `PARLEY_TRUSTED_PROXIES` are believed about
//! `X-Forwarded-For`; nobody else is, since any client can send that header.

use std::net::IpAddr;

/// An address range, `a.b.c.d/n` or `x::y/n`; a bare address is a range of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

impl AddressRange {
    /// Reads `address` or `address/prefix`; `None` when it is neither.
    pub fn parse(text: &str) -> Option<AddressRange> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix.parse::<u8>().ok()?)),
            None => (text, None),
        };
        let network: IpAddr = address.parse().ok()?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(bits);
        (prefix <= bits).then_some(AddressRange { network, prefix })
    }

    /// Whether `address` is in the range (an IPv4 address written as IPv6, `::ffff:a.b.c.d`,
    /// counts as the IPv4 one).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                same_prefix(&network.octets(), &address.octets(), self.prefix)
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                same_prefix(&network.octets(), &address.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn same_prefix(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let (whole, rest) = (usize::from(prefix / 8), prefix % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || {
        let mask = 0xFFu8 << (8 - rest);
        a[whole] & mask == b[whole] & mask
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<AddressRange>);

impl TrustedProxies {
    /// Reads a comma-separated list of addresses and ranges; `Err` names the first entry that
    /// is neither.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        list.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| AddressRange::parse(entry).ok_or_else(|| entry.to_string()))
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.0.iter().any(|range| range.contains(address))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the nearest
    /// address in `X-Forwarded-For` (read from the right, as each proxy appends the address it
    /// saw) that is not itself a trusted proxy. Entries left of an unreadable one are not
    /// believed, since a proxy we trust did not write them.
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str]) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        for entry in forwarded_for
            .iter()
            .rev()
            .flat_map(|header| header.rsplit(','))
        {
            match entry.trim().parse::<IpAddr>() {
                Ok(address) => {
                    client = address;
                    if !self.trusts(address) {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ranges_match_by_prefix() {
        let range = AddressRange::parse("10.1.0.0/16").unwrap();
        assert!(range.contains(ip("10.1.255.3")));
        assert!(!range.contains(ip("10.2.0.1")));
        assert!(
            range.contains(ip("::ffff:10.1.0.9")),
            "IPv4 written as IPv6"
        );
        let odd = AddressRange::parse("192.168.1.128/25").unwrap();
        assert!(odd.contains(ip("192.168.1.200")));
        assert!(!odd.contains(ip("192.168.1.127")));
        let one = AddressRange::parse("fd00::1").unwrap();
        assert!(one.contains(ip("fd00::1")));
        assert!(!one.contains(ip("fd00::2")));
        assert!(AddressRange::parse("0.0.0.0/0")
            .unwrap()
            .contains(ip("8.8.8.8")));
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "proxy.local",
            "10.0.0/8",
            "10.0.0.1/x",
        ] {
            assert_eq!(AddressRange::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_list_names_its_first_bad_entry() {
        assert_eq!(
            TrustedProxies::parse("127.0.0.1, 10.0.0.0/8,,")
                .unwrap()
                .0
                .len(),
            2
        );
        assert_eq!(
            TrustedProxies::parse("127.0.0.1, nginx"),
            Err("nginx".to_string())
        );
    }

    #[test]
    fn only_a_trusted_proxy_is_believed() {
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        // A client sending the header itself is not a proxy.
        assert_eq!(
            proxies.client(ip("203.0.113.7"), &["198.51.100.1"]),
            ip("203.0.113.7")
        );
        // Through our proxy: the address it saw.
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["198.51.100.1"]),
            ip("198.51.100.1")
        );
        // A forged entry left of the real one is passed over; so are inner proxies.
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["6.6.6.6, 198.51.100.1, 10.0.0.5"]),
            ip("198.51.100.1")
        );
        // Several headers are one list, in order.
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["6.6.6.6", "198.51.100.1"]),
            ip("198.51.100.1")
        );
        // Nothing readable: the proxy itself.
        assert_eq!(proxies.client(ip("127.0.0.1"), &[]), ip("127.0.0.1"));
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &["unknown"]),
            ip("127.0.0.1")
        );
        // No proxies configured: the header means nothing.
        assert_eq!(
            TrustedProxies::default().client(ip("127.0.0.1"), &["198.51.100.1"]),
            ip("127.0.0.1")
        );
    }
}
