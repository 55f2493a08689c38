//! Where a webhook may point. Admins register URLs and the delivery log shows what each
//! attempt got, so a target on this machine's network would turn the admin page into a
//! port scanner and a way into internal services (cloud metadata at 169.254.169.254, say).
//! Targets that resolve to loopback, private, link-local, unique-local, shared, multicast,
//! reserved or unspecified addresses are refused when saved and again when sent (every
//! address the name resolves to; IP literals in any notation the URL standard reads,
//! `0x7f000001` included), unless `HINDSIGHT_WEBHOOK_ALLOW_PRIVATE=true`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, ToSocketAddrs};

use crate::error::AppError;

/// What the delivery log says for a refused target.
pub const REFUSED: &str = "refused: private address";

/// Whether `ip` is outside the public internet.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => is_private_v6(v6) || embedded_v4(v6).is_some_and(is_private_v4),
    }
}

/// The IPv4 address inside an IPv6 one, in every embedding that routes to it: mapped
/// (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`), translated (`::ffff:0:a.b.c.d`), 6to4
/// (`2002:AABB:CCDD::`) and NAT64 (`64:ff9b::a.b.c.d`, `64:ff9b:1::/48`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, ..] | [0, 0, 0, 0, 0, 0, ..] | [0, 0, 0, 0, 0xffff, 0, ..] => {
            Some(low)
        }
        [0x64, 0xff9b, ..] => Some(low),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0
        || a >= 240 // reserved
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier NAT)
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
}

fn is_private_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first == 0x2001 && ip.segments()[1] == 0x0db8) // documentation
        || (first == 0x64 && ip.segments()[1] == 0xff9b) // NAT64 to IPv4
        || (first == 0x2001 && ip.segments()[1] == 0) // Teredo: hides an IPv4 address
}

/// Resolves the URL's host (blocking: DNS) and refuses it when any of its addresses is
/// private, unless `allow_private`.
pub fn check(raw: &str, allow_private: bool) -> Result<(), AppError> {
    if allow_private {
        return Ok(());
    }
    let url = url::Url::parse(raw).map_err(|_| {
        AppError::invalid("url", "The URL must be a full http:// or https:// address.")
    })?;
    let refused = || {
        AppError::invalid(
            "url",
            "The URL points to a private or local address; webhooks go to public addresses \
             only (set HINDSIGHT_WEBHOOK_ALLOW_PRIVATE=true to allow them).",
        )
    };
    let addresses: Vec<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(url::Host::Domain(name)) => {
            let port = url.port_or_known_default().unwrap_or(443);
            (name, port)
                .to_socket_addrs()
                .map_err(|e| {
                    AppError::invalid("url", format!("The host `{name}` cannot be resolved: {e}."))
                })?
                .map(|a| a.ip())
                .collect()
        }
        None => return Err(refused()),
    };
    if addresses.is_empty() || addresses.into_iter().any(is_private) {
        return Err(refused());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_in_any_notation() {
        for url in [
            "http://127.0.0.1/x",
            "http://0x7f000001/x",
            "http://2130706433/x",
            "http://0177.0.0.1/x",
            "http://[::1]/x",
            "http://[::ffff:127.0.0.1]/x",
            "http://169.254.169.254/latest/meta-data",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://192.168.1.1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[fd00::1]/",
            "http://[fe80::1]/",
            "http://224.0.0.1/",
            "http://localhost:22/",
            // IPv4 inside IPv6, every embedding.
            "http://[::127.0.0.1]/",
            "http://[::ffff:0:7f00:1]/",
            "http://[2002:7f00:1::]/",
            "http://[2002:a00:1::1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[64:ff9b:1::a00:1]/",
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        ] {
            assert!(check(url, false).is_err(), "{url}");
            assert!(check(url, true).is_ok(), "{url} when allowed");
        }
        assert!(!is_private("93.184.215.14".parse().unwrap()));
        assert!(!is_private("2606:4700::1".parse().unwrap()));
        assert!(
            !is_private("2002:5db8:d70e::1".parse().unwrap()),
            "6to4 of a public address"
        );
    }
}
