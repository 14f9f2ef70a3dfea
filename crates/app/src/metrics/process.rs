//! Process metrics under the names every Prometheus client uses (RSS, CPU,
//! open file descriptors, …), read from `/proc/self` at each scrape.
//! prometheus-client has no process collector of its own; Linux only.

use std::fmt;

use procfs::{
    WithCurrentSystemInfo,
    process::{LimitValue, Process},
};
use prometheus_client::{collector::Collector, encoding::DescriptorEncoder};

use prometheus_client::metrics::{counter::ConstCounter, gauge::ConstGauge};

use super::write_one;

#[derive(Debug)]
pub(crate) struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        // A figure that cannot be read is left out of this scrape, not
        // reported as 0.
        let Ok(process) = Process::myself() else {
            return Ok(());
        };
        if let Ok(stat) = process.stat() {
            let ticks = procfs::ticks_per_second() as f64;
            write_one(
                &mut encoder,
                "process_cpu_seconds",
                "User and system CPU time spent, in seconds.",
                ConstCounter::new((stat.utime + stat.stime) as f64 / ticks),
            )?;
            write_one(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                ConstGauge::new(stat.rss_bytes().get()),
            )?;
            write_one(
                &mut encoder,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                ConstGauge::new(stat.vsize),
            )?;
            write_one(
                &mut encoder,
                "process_threads",
                "OS threads in the process.",
                ConstGauge::new(stat.num_threads),
            )?;
            if let Ok(boot) = procfs::boot_time_secs() {
                write_one(
                    &mut encoder,
                    "process_start_time_seconds",
                    "Start time of the process since the Unix epoch, in seconds.",
                    ConstGauge::new(boot as f64 + stat.starttime as f64 / ticks),
                )?;
            }
        }
        if let Ok(open) = process.fd_count() {
            write_one(
                &mut encoder,
                "process_open_fds",
                "Open file descriptors.",
                ConstGauge::new(open),
            )?;
        }
        if let Ok(limits) = process.limits()
            && let LimitValue::Value(max) = limits.max_open_files.soft_limit
        {
            write_one(
                &mut encoder,
                "process_max_fds",
                "The soft limit on open file descriptors.",
                ConstGauge::new(max),
            )?;
        }
        Ok(())
    }
}
