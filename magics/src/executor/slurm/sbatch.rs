//! What sluice hands `sbatch`: the array spec (ranges, throttle, split at
//! MaxArraySize), the options as sbatch spells them, the dependency string
//! and the batch script. Pure text; the executor runs it.

use std::path::Path;

use crate::domain::{DependencyKind, Resources, SlurmJobId};

/// One `sbatch` of a job: elements `offset + task id` for each task id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    /// Added to `SLURM_ARRAY_TASK_ID` to get the element index.
    pub offset: usize,
    /// Array task ids (element - offset), ascending.
    pub tasks: Vec<usize>,
}

/// Splits elements into slices whose task ids are all below
/// `max_array_size` (Slurm caps the index, not the count).
pub fn slices(elements: &[usize], max_array_size: usize) -> Vec<Slice> {
    let block = max_array_size.max(1);
    let mut out: Vec<Slice> = Vec::new();
    let mut sorted = elements.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    for e in sorted {
        let offset = (e / block) * block;
        match out.last_mut() {
            Some(s) if s.offset == offset => s.tasks.push(e - offset),
            _ => out.push(Slice {
                offset,
                tasks: vec![e - offset],
            }),
        }
    }
    out
}

/// `0-9,12,15-20` (+ `%K`) from ascending task ids.
pub fn array_spec(tasks: &[usize], throttle: Option<usize>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tasks.len() {
        let start = tasks[i];
        let mut end = start;
        while i + 1 < tasks.len() && tasks[i + 1] == end + 1 {
            i += 1;
            end = tasks[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    let mut spec = parts.join(",");
    if let Some(k) = throttle {
        spec.push_str(&format!("%{}", k.max(1)));
    }
    spec
}

/// A dependency on Slurm job ids, with sluice's kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmDependency {
    /// How.
    pub kind: DependencyKind,
    /// The Slurm job ids depended on.
    pub ids: Vec<SlurmJobId>,
}

/// `afterok:1:2,aftercorr:5`, or None when there is nothing to wait for.
pub fn dependency_spec(deps: &[SlurmDependency]) -> Option<String> {
    let parts: Vec<String> = deps
        .iter()
        .filter(|d| !d.ids.is_empty())
        .map(|d| {
            let ids: Vec<&str> = d.ids.iter().map(SlurmJobId::as_str).collect();
            format!("{}:{}", d.kind, ids.join(":"))
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

/// Why an option was refused before anything ran.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--{option} `{value}` is not a Slurm value sluice passes on (letters, digits and -_.:,=+ only)"
)]
pub struct OptionError {
    /// The option.
    pub option: &'static str,
    /// What was given.
    pub value: String,
}

/// Refuses values Slurm would not accept as names. (They are passed as
/// separate arguments and quoted for a remote shell anyway; this says what
/// is wrong before the cluster does.)
pub fn check_name(option: &'static str, value: &str) -> Result<(), OptionError> {
    let ok = !value.is_empty()
        && !value.starts_with('-')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:,=+".contains(c));
    if ok {
        Ok(())
    } else {
        Err(OptionError {
            option,
            value: value.to_string(),
        })
    }
}

/// Checks every free-text value of a job's resources, and its job name.
/// A job name may also hold letters and digits outside ASCII (`größe`,
/// `结果`): a notebook's names may, and Slurm stores and shows them as
/// written (measured on Slurm 22.05: squeue's `%j`).
pub fn check_options(r: &Resources, job_name: &str) -> Result<(), OptionError> {
    for (option, v) in r.named() {
        check_name(option, v)?;
    }
    let ascii: String = job_name
        .chars()
        .map(|c| if c.is_alphanumeric() { 'a' } else { c })
        .collect();
    check_name("name", &ascii).map_err(|_| OptionError {
        option: "name",
        value: job_name.to_string(),
    })
}

/// The sbatch argument vector (program first).
pub fn sbatch_argv(
    o: &Resources,
    job_name: &str,
    array: &str,
    dependency: Option<&str>,
    job_dir: &Path,
    chdir: &Path,
    script: &Path,
) -> Vec<String> {
    let mut a = vec![
        "sbatch".to_string(),
        "--parsable".into(),
        format!("--array={array}"),
        format!("--job-name={job_name}"),
        format!("--chdir={}", chdir.display()),
        // Named variables travel in the batch script (sbatch's own list
        // cannot hold a comma); sbatch says only whether ALL goes too.
        format!("--export={}", if o.export.all { "ALL" } else { "NONE" }),
        format!(
            "--output={}",
            job_dir.join("logs/slurm-%A_%a.out").display()
        ),
        format!("--cpus-per-task={}", o.cpus.max(1)),
    ];
    if let Some(m) = o.mem_mb {
        a.push(format!("--mem={m}M"));
    }
    // Slurm's unit is whole minutes; 0 is sbatch's "no limit".
    if let Some(t) = o.time_limit {
        a.push(format!("--time={}", t.div_ceil(60)));
    }
    for (flag, v) in o.named().filter(|(flag, _)| *flag != "name") {
        a.push(format!("--{flag}={v}"));
    }
    if let Some(d) = dependency {
        a.push(format!("--dependency={d}"));
        a.push("--kill-on-invalid-dep=yes".into());
    }
    a.push(script.display().to_string());
    a
}

/// The array id `sbatch --parsable` printed (`4242`, or `4242;cluster`
/// on a federation); None if it printed something else.
pub fn parse_job_id(stdout: &str) -> Option<SlurmJobId> {
    let id = stdout.trim().split(';').next().unwrap_or("");
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| SlurmJobId::from(id))
}

fn quote(s: &str) -> String {
    shlex::try_quote(s)
        .map(|q| q.into_owned())
        .unwrap_or_else(|_| "''".into())
}

/// The batch script of a slice: the element index is the array task id
/// plus the slice's offset; output goes to `logs/<element>.{out,err}` as on
/// the local executor.
pub fn script(
    job_dir: &Path,
    binary: &Path,
    offset: usize,
    environment: &[(String, String)],
) -> String {
    let dir = quote(&job_dir.display().to_string());
    // `--export` as resolved for the elements, each value shell-quoted.
    let exports: String = environment
        .iter()
        .filter(|(k, _)| !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|(k, v)| format!("export {k}={}\n", quote(v)))
        .collect();
    format!(
        "#!/bin/sh\n\
         # sluice task: elements are SLURM_ARRAY_TASK_ID + {offset}\n\
         {exports}\
         i=$((SLURM_ARRAY_TASK_ID + {offset}))\n\
         SLURM_ARRAY_TASK_ID=$i\n\
         SLUICE_JOB_DIR={dir}\n\
         RUST_BACKTRACE=0\n\
         export SLURM_ARRAY_TASK_ID SLUICE_JOB_DIR RUST_BACKTRACE\n\
         exec {bin} >>{dir}/logs/$i.out 2>>{dir}/logs/$i.err\n",
        bin = quote(&binary.display().to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_throttle() {
        assert_eq!(array_spec(&[0, 1, 2, 3], None), "0-3");
        assert_eq!(array_spec(&[0, 1, 2, 3], Some(2)), "0-3%2");
        assert_eq!(array_spec(&[3, 7, 8, 9, 12], None), "3,7-9,12");
        assert_eq!(array_spec(&[5], None), "5");
    }

    #[test]
    fn split_caps_the_index() {
        let all: Vec<usize> = (0..25).collect();
        let s = slices(&all, 10);
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[1].offset, s[1].tasks.first(), s[1].tasks.last()),
            (10, Some(&0), Some(&9))
        );
        assert_eq!((s[2].offset, s[2].tasks.len()), (20, 5));
        let retry = slices(&[3, 17, 12], 10);
        assert_eq!(
            retry,
            vec![
                Slice {
                    offset: 0,
                    tasks: vec![3]
                },
                Slice {
                    offset: 10,
                    tasks: vec![2, 7]
                }
            ]
        );
    }

    #[test]
    fn dependencies_and_argv() {
        let d = dependency_spec(&[
            SlurmDependency {
                kind: DependencyKind::Afterok,
                ids: vec![SlurmJobId::from("1"), SlurmJobId::from("2")],
            },
            SlurmDependency {
                kind: DependencyKind::Aftercorr,
                ids: vec![SlurmJobId::from("5")],
            },
        ]);
        assert_eq!(d.as_deref(), Some("afterok:1:2,aftercorr:5"));
        assert_eq!(dependency_spec(&[]), None);
        let o = Resources {
            cpus: 2,
            mem_mb: Some(512),
            time_limit: Some(90),
            partition: Some("debug".into()),
            ..Default::default()
        };
        let a = sbatch_argv(
            &o,
            "squares",
            "0-9%4",
            d.as_deref(),
            Path::new("/j/3"),
            Path::new("/home/me/nb"),
            Path::new("/j/3/job-0.sh"),
        );
        for want in [
            "--parsable",
            "--array=0-9%4",
            "--cpus-per-task=2",
            "--mem=512M",
            "--time=2",
            "--partition=debug",
            "--dependency=afterok:1:2,aftercorr:5",
            "--kill-on-invalid-dep=yes",
        ] {
            assert!(a.iter().any(|x| x == want), "{want} missing from {a:?}");
        }
        assert_eq!(a.last().map(String::as_str), Some("/j/3/job-0.sh"));
    }

    #[test]
    fn injection_is_refused() {
        let o = Resources {
            partition: Some("debug; rm -rf ~".into()),
            ..Default::default()
        };
        assert!(check_options(&o, "ok").is_err());
        assert!(check_options(&Resources::default(), "a b").is_err());
        assert!(check_options(&Resources::default(), "größe_stufe").is_ok());
        assert!(check_options(&Resources::default(), "结果_a").is_ok());
        assert!(check_options(&Resources::default(), "größe;rm").is_err());
        assert!(check_name("account", "$(reboot)").is_err());
        assert!(check_name("partition", "--wrap=x").is_err());
        assert!(check_name("partition", "gpu-a100").is_ok());
    }

    #[test]
    fn job_id_from_parsable_output() {
        assert_eq!(parse_job_id("4242\n"), Some(SlurmJobId::from("4242")));
        assert_eq!(
            parse_job_id("4242;cluster-a\n"),
            Some(SlurmJobId::from("4242"))
        );
        assert_eq!(parse_job_id(""), None);
        assert_eq!(parse_job_id("Submitted batch job 4242"), None);
    }

    #[test]
    fn script_quotes_paths() {
        let s = script(
            Path::new("/data/my jobs/3"),
            Path::new("/data/bin/ab"),
            10000,
            &[
                ("LANG".into(), "C.UTF-8".into()),
                ("NOTE".into(), "it's $(x); a,b".into()),
                ("BAD NAME".into(), "x".into()),
            ],
        );
        assert!(s.contains("export LANG=C.UTF-8\n"), "{s}");
        assert!(!s.contains("BAD NAME"), "{s}");
        // A shell reads every value back as it was.
        let exports: String = s.lines().filter(|l| l.starts_with("export NOTE")).collect();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{exports}\nprintf %s \"$NOTE\""))
            .output()
            .expect("sh runs");
        assert_eq!(String::from_utf8_lossy(&out.stdout), "it's $(x); a,b");
        assert!(s.contains("i=$((SLURM_ARRAY_TASK_ID + 10000))"));
        assert!(s.contains("SLUICE_JOB_DIR='/data/my jobs/3'"));
        assert!(s.contains("exec /data/bin/ab >>'/data/my jobs/3'/logs/$i.out"));
    }
}
