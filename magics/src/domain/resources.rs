//! What each array element asks for ([`Resources`]), and the values as
//! sbatch(1) spells them: time limits (`--time`) and memory sizes (`--mem`).

/// What each element of a job asks for, and where a cluster puts it: one
/// struct from the magic line to the executors and `resources.json` (so
/// `%slurm retry` asks for the same).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Resources {
    /// `--cpus-per-task` (at least 1).
    pub cpus: u32,
    /// `--mem`, megabytes per element (`Some(0)`: all of the node's
    /// memory, as sbatch's `--mem=0`).
    pub mem_mb: Option<u64>,
    /// `--time`, seconds per element. None: not given (the partition's
    /// default applies on Slurm; no limit locally); `Some(0)`: no limit,
    /// as sbatch's `--time=0`.
    pub time_limit: Option<u64>,
    /// `--max-concurrent K`: the array's `%K` throttle.
    pub max_concurrent: Option<usize>,
    /// `--job-name` on the cluster (None: the job's NAME).
    pub job_name: Option<String>,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--qos`.
    pub qos: Option<String>,
    /// `--gres`.
    pub gres: Option<String>,
    /// `--chdir DIR`: where elements start (None: the submission directory,
    /// as sbatch).
    pub chdir: Option<String>,
    /// `--export`: which environment variables elements get.
    pub export: super::export::Export,
}

impl Default for Resources {
    fn default() -> Resources {
        Resources {
            cpus: 1,
            mem_mb: None,
            time_limit: None,
            max_concurrent: None,
            job_name: None,
            partition: None,
            account: None,
            qos: None,
            gres: None,
            chdir: None,
            export: super::export::Export::default(),
        }
    }
}

impl Resources {
    /// The memory limit to enforce, MB; None when there is none (`--mem 0`
    /// is sbatch's "all of the node's memory").
    pub fn enforced_mem_mb(&self) -> Option<u64> {
        self.mem_mb.filter(|&m| m > 0)
    }

    /// The time limit to enforce, in seconds; None when there is none.
    pub fn enforced_time_limit(&self) -> Option<u64> {
        self.time_limit.filter(|&t| t > 0)
    }

    /// The free-text Slurm names that are set, as `(sbatch option, value)`.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("partition", &self.partition),
            ("account", &self.account),
            ("qos", &self.qos),
            ("gres", &self.gres),
            ("name", &self.job_name),
        ]
        .into_iter()
        .filter_map(|(option, v)| v.as_deref().map(|v| (option, v)))
    }
}

/// The longest time limit Slurm holds, in minutes: 2982616-04:12:00.
/// Slurm keeps a limit as a 32-bit count of minutes; measured on Slurm
/// 22.05, sbatch refuses one minute more, takes the next as UNLIMITED, and
/// wraps larger values silently (`2982617-00:00:00` became 19:44:00).
pub const MAX_TIME_LIMIT_MINUTES: u64 = 4_294_967_292;

/// Parses a Slurm time limit into seconds: `M`, `M:S`, `H:M:S`, `D-H`,
/// `D-H:M`, `D-H:M:S` (sbatch(1), `--time`); `0`, `UNLIMITED` and
/// `INFINITE` mean no limit and give 0. As in sbatch, a field may pass
/// its unit (`1:99:99` is 2 h 40 min 39 s).
///
/// # Errors
/// A message naming the accepted forms, for anything else; a limit
/// longer than [`MAX_TIME_LIMIT_MINUTES`] names the longest.
pub fn parse_time(s: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "`{s}` is not a time: use M, M:S, H:M:S, D-H, D-H:M or D-H:M:S (0 or UNLIMITED: no limit)"
        )
    };
    let t = s.trim();
    if t.eq_ignore_ascii_case("unlimited") || t.eq_ignore_ascii_case("infinite") {
        return Ok(0);
    }
    let num = |p: &str| {
        let p = p.trim();
        p.parse::<u64>().map_err(|_| {
            if !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()) {
                format!(
                    "`{s}` is too long a time limit: Slurm holds at most 2982616-04:12:00 (UNLIMITED: no limit)"
                )
            } else {
                bad()
            }
        })
    };
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (num(d)?, r),
        None => (0, t),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let hms = |h: u64, m: u64, sec: u64| -> Option<u64> {
        h.checked_mul(3600)?
            .checked_add(m.checked_mul(60)?)?
            .checked_add(sec)
    };
    let secs = match (t.contains('-'), parts.as_slice()) {
        (false, [m]) => hms(0, num(m)?, 0),
        (false, [m, sec]) => hms(0, num(m)?, num(sec)?),
        (_, [h, m, sec]) => hms(num(h)?, num(m)?, num(sec)?),
        (true, [h]) => hms(num(h)?, 0, 0),
        (true, [h, m]) => hms(num(h)?, num(m)?, 0),
        _ => return Err(bad()),
    };
    secs.and_then(|secs| days.checked_mul(86400)?.checked_add(secs))
        .filter(|secs| secs.div_ceil(60) <= MAX_TIME_LIMIT_MINUTES)
        .ok_or_else(|| {
            format!(
                "`{s}` is too long a time limit: Slurm holds at most 2982616-04:12:00 (UNLIMITED: no limit)"
            )
        })
}

/// Parses a memory size into megabytes: `512`, `512M`, `2G`, `100K`, `1T`
/// (sbatch(1), `--mem`; the default unit is megabytes; `0`: all of the
/// node's memory).
///
/// # Errors
/// A message with an example, for anything else, or a size too large to
/// count in megabytes.
pub fn parse_mem_mb(s: &str) -> Result<u64, String> {
    let bad = || format!("`{s}` is not a memory size: use e.g. 512M or 2G");
    let t = s.trim();
    let (digits, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let mb = match unit.to_ascii_uppercase().as_str() {
        "" | "M" | "MB" => Some(n),
        "K" | "KB" => Some(n.div_ceil(1024)),
        "G" | "GB" => n.checked_mul(1024),
        "T" | "TB" => n.checked_mul(1024 * 1024),
        _ => return Err(bad()),
    }
    .ok_or_else(|| format!("`{s}` is too large a memory size"))?;
    if mb == 0 && n != 0 {
        // `100K` rounds up to 1 MB above; nothing else rounds to 0.
        return Err(bad());
    }
    Ok(mb)
}

/// Formats seconds the way Slurm accepts them (`D-HH:MM:SS` or `HH:MM:SS`).
pub fn format_time(secs: u64) -> String {
    let (d, rest) = (secs / 86400, secs % 86400);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    if d > 0 {
        format!("{d}-{h:02}:{m:02}:{s:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("5"), Ok(300));
        assert_eq!(parse_time("0:05"), Ok(5));
        assert_eq!(parse_time("1:00:00"), Ok(3600));
        assert_eq!(parse_time("2-3"), Ok(2 * 86400 + 3 * 3600));
        assert_eq!(parse_time("1-0:30"), Ok(86400 + 1800));
        assert!(parse_time("soon").is_err());
        assert_eq!(parse_time("0"), Ok(0));
        assert_eq!(parse_time("UNLIMITED"), Ok(0));
        assert!(parse_time("18446744073709551615").is_err());
        assert!(parse_time("99999999999999999-0").is_err());
        assert!(parse_time("1:18446744073709551615:0").is_err());
        assert_eq!(format_time(86400 + 61), "1-00:01:01");
        // As sbatch: fields may pass their unit.
        assert_eq!(parse_time("1:99:99"), Ok(3600 + 99 * 60 + 99));
        // Slurm's 32-bit minutes: the longest it holds, and past it an
        // error rather than the limit sbatch would silently wrap.
        assert_eq!(parse_time("2982616-04:12:00"), Ok(4_294_967_292 * 60));
        for long in [
            "2982616-04:12:01",
            "2982617-00:00:00",
            "99999999-00:00:00",
            "4294967293",
        ] {
            let e = parse_time(long).unwrap_err();
            assert!(e.contains("at most 2982616-04:12:00"), "{long}: {e}");
        }
    }

    #[test]
    fn mems() {
        assert_eq!(parse_mem_mb("512"), Ok(512));
        assert_eq!(parse_mem_mb("2G"), Ok(2048));
        assert_eq!(parse_mem_mb("100K"), Ok(1));
        assert!(parse_mem_mb("lots").is_err());
        assert_eq!(parse_mem_mb("0"), Ok(0), "sbatch: all of the node's memory");
        assert!(parse_mem_mb("18446744073709551615T").is_err());
        assert!(parse_mem_mb("99999999999999999999").is_err());
    }
}
