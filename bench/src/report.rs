//! Figures, their medians, the same-run ratios printed per workload, and the JSON file.

use std::fmt::Write as _;
use std::path::Path;

pub struct Figure {
    pub workload: String,
    pub system: &'static str,
    pub metric: String,
    pub unit: &'static str,
    pub runs: Vec<f64>,
}

pub fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

pub fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[derive(Default)]
pub struct Report {
    figures: Vec<Figure>,
}

impl Report {
    pub fn len(&self) -> usize {
        self.figures.len()
    }

    pub fn add(
        &mut self,
        workload: &str,
        system: &'static str,
        metric: &str,
        unit: &'static str,
        runs: Vec<f64>,
    ) {
        self.figures.push(Figure {
            workload: workload.to_owned(),
            system,
            metric: metric.to_owned(),
            unit,
            runs,
        });
    }

    /// Prints every metric of `workload`: each system's median and Almanac/peer.
    pub fn print(&self, workload: &str) {
        let mut metrics: Vec<&str> = Vec::new();
        for f in self.figures.iter().filter(|f| f.workload == workload) {
            if !metrics.contains(&f.metric.as_str()) {
                metrics.push(&f.metric);
            }
        }
        for metric in metrics {
            let rows: Vec<&Figure> = self
                .figures
                .iter()
                .filter(|f| f.workload == workload && f.metric == metric)
                .collect();
            let almanac = rows.iter().find(|f| f.system == "almanac").map(|f| median(&f.runs));
            let mut line = format!("{workload} {metric} [{}]:", rows[0].unit);
            for f in &rows {
                let m = median(&f.runs);
                let _ = write!(line, "  {} {}", f.system, number(m));
                if let Some(a) = almanac.filter(|_| f.system != "almanac") {
                    let _ = write!(line, " (A/p {})", ratio(a, m));
                }
            }
            println!("{line}");
        }
    }

    pub fn write_json(&self, path: &Path) {
        let mut out = String::from("[\n");
        for (i, f) in self.figures.iter().enumerate() {
            let runs: Vec<String> = f.runs.iter().map(|r| json_number(*r)).collect();
            let _ = writeln!(
                out,
                "  {{\"workload\": {}, \"system\": {}, \"metric\": {}, \"unit\": {}, \"median\": {}, \"runs\": [{}]}}{}",
                json_string(&f.workload),
                json_string(f.system),
                json_string(&f.metric),
                json_string(f.unit),
                json_number(median(&f.runs)),
                runs.join(", "),
                if i + 1 < self.figures.len() { "," } else { "" }
            );
        }
        out.push_str("]\n");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("results folder");
        }
        std::fs::write(path, out).expect("write results");
    }
}

pub fn number(x: f64) -> String {
    if !x.is_finite() {
        "n/a".into()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.3}")
    }
}

pub fn ratio(almanac: f64, peer: f64) -> String {
    if peer == 0.0 || !peer.is_finite() || !almanac.is_finite() {
        if almanac == peer { "1.00".into() } else { "n/a".into() }
    } else {
        format!("{:.2}", almanac / peer)
    }
}

fn json_number(x: f64) -> String {
    if x.is_finite() { format!("{x}") } else { "null".into() }
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
