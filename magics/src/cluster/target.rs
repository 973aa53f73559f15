//! `ssh://user@host[:port]`: where a remote cluster's login node is, parsed
//! strictly so nothing odd reaches a socket or a shell.

/// A parsed `--host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// Login name.
    pub user: String,
    /// Host name or address.
    pub host: String,
    /// TCP port (22 unless given).
    pub port: u16,
}

/// Why a `--host` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--host `{given}`: {why}; write ssh://user@host[:port]")]
pub struct TargetError {
    /// What the user wrote.
    pub given: String,
    /// What is wrong with it.
    pub why: String,
}

impl SshTarget {
    /// Parses `ssh://user@host[:port]` (user defaults to `$USER`).
    pub fn parse(given: &str) -> Result<SshTarget, TargetError> {
        let bad = |why: &str| TargetError {
            given: given.to_string(),
            why: why.to_string(),
        };
        let rest = given
            .strip_prefix("ssh://")
            .ok_or_else(|| bad("it does not start with ssh://"))?;
        let (user, hostport) = match rest.split_once('@') {
            Some((u, h)) => (u.to_string(), h),
            None => (
                std::env::var("USER").unwrap_or_else(|_| "root".into()),
                rest,
            ),
        };
        let hostport = hostport.trim_end_matches('/');
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.starts_with('[') => {
                let port = p
                    .parse::<u16>()
                    .ok()
                    .filter(|&p| p > 0)
                    .ok_or_else(|| bad("the port is not a number from 1 to 65535"))?;
                (h.trim_start_matches('[').trim_end_matches(']'), port)
            }
            _ => (hostport, 22),
        };
        let name_ok = |s: &str, extra: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c) || extra.contains(c))
        };
        if !name_ok(&user, "") || user.starts_with('-') {
            return Err(bad("the user name has characters a login name cannot have"));
        }
        if !name_ok(host, ":") || host.starts_with('-') {
            return Err(bad("the host is not a host name or address"));
        }
        Ok(SshTarget {
            user,
            host: host.to_string(),
            port,
        })
    }

    /// `host` or `[host]:port`, as OpenSSH's known_hosts writes it.
    pub fn known_hosts_name(&self) -> String {
        if self.port == 22 {
            self.host.clone()
        } else {
            format!("[{}]:{}", self.host, self.port)
        }
    }
}

impl std::fmt::Display for SshTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ssh://{}@{}:{}", self.user, self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_host_port() {
        let t = SshTarget::parse("ssh://root@127.0.0.1:2222").expect("parse");
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port),
            ("root", "127.0.0.1", 2222)
        );
        assert_eq!(t.known_hosts_name(), "[127.0.0.1]:2222");
        let t = SshTarget::parse("ssh://ana@login.example.org").expect("parse");
        assert_eq!((t.host.as_str(), t.port), ("login.example.org", 22));
        assert_eq!(t.known_hosts_name(), "login.example.org");
    }

    #[test]
    fn refuses_odd_targets() {
        for bad in [
            "root@host",
            "ssh://root@host:0",
            "ssh://root@host:99999",
            "ssh://root@ho st",
            "ssh://root@host;rm -rf ~",
            "ssh://-oProxyCommand=x@host",
            "ssh://root@-host",
            "ssh://root@",
        ] {
            assert!(SshTarget::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
