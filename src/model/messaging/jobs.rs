//! Scheduled batch jobs (`jobs`, cron-like): at each start time a job runs `tasks` tasks on a
//! service, `concurrency` at a time; each task is a call to the service that runs its handler
//! for the job's class (CPU, disk, calls to databases) on the same machines as the users'
//! requests, so a job at peak slows them and one off-peak does not.
//!
//! A run ends when its last task has answered; a start that comes while the previous run is
//! still going is skipped (counted), as Kubernetes' `concurrencyPolicy: Forbid` does. Tasks
//! are spread over the service's machines in turn. A task that fails (the machine is down,
//! refuses) is counted failed and not tried again.

use crate::engine::time::SimTime;
use crate::metrics::outcome::Status;
use crate::model::context::Context;
use crate::model::event::Event;
use crate::model::ids::{ComponentId, FrameId};
use crate::model::messaging::{Op, carrier};
use crate::model::request::Frame;

/// A job as the scenario describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub name: String,
    pub service: ComponentId,
    /// The service's machines.
    pub machines: u32,
    /// The request class whose handler each task runs.
    pub class: u16,
    pub tasks: u32,
    pub concurrency: u32,
    /// When it starts, in order.
    pub starts: Vec<SimTime>,
}

/// One run of a job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobRun {
    pub start: SimTime,
    /// When its last task answered; None if the simulation ended first.
    pub end: Option<SimTime>,
    pub done: u32,
    pub failed: u32,
}

/// A job's live state.
#[derive(Debug)]
pub struct Job {
    pub spec: JobSpec,
    /// The global carrier home id of its tasks (`Context::carrier_homes`).
    pub home: u32,
    pub runs: Vec<JobRun>,
    pub skipped: u32,
    started: u32,
    in_flight: u32,
    running: bool,
    next_machine: u32,
}

/// Every job of the run.
#[derive(Debug, Default)]
pub struct Jobs {
    pub jobs: Vec<Job>,
    /// The global home id of job 0; jobs follow in order.
    pub first_home: u32,
}

impl Jobs {
    /// The scenario's jobs, with their homes from `first_home` on.
    pub fn new(specs: &[JobSpec], first_home: u32) -> Jobs {
        Jobs {
            jobs: specs
                .iter()
                .enumerate()
                .map(|(i, spec)| Job {
                    spec: spec.clone(),
                    home: first_home + i as u32,
                    runs: Vec::new(),
                    skipped: 0,
                    started: 0,
                    in_flight: 0,
                    running: false,
                    next_machine: 0,
                })
                .collect(),
            first_home,
        }
    }

    /// Schedules every start of every job.
    pub fn schedule(&self, ctx: &mut Context) {
        for (j, job) in self.jobs.iter().enumerate() {
            for &at in &job.spec.starts {
                ctx.schedule(at, Event::JobStart { job: j as u32 });
            }
        }
    }

    /// Job `j` is due to start a run (skipped if its last is still going).
    pub fn start(&mut self, ctx: &mut Context, j: u32) {
        let job = &mut self.jobs[j as usize];
        if job.running {
            job.skipped += 1;
            return;
        }
        job.running = true;
        job.started = 0;
        job.in_flight = 0;
        job.runs.push(JobRun {
            start: ctx.now,
            end: None,
            done: 0,
            failed: 0,
        });
        ctx.jobs_running += 1;
        while job.in_flight < job.spec.concurrency && job.started < job.spec.tasks {
            job.launch(ctx);
        }
        job.finish_if_done(ctx);
    }

    /// A task of a job answered (frame `f`, which goes).
    pub fn task_returned(&mut self, ctx: &mut Context, f: FrameId) {
        let fr = *ctx.frames.get(f);
        ctx.frames.remove(f);
        let home = ctx.requests.get(fr.request).key as u32;
        ctx.requests.remove(fr.request);
        let job = &mut self.jobs[(home - self.first_home) as usize];
        job.in_flight -= 1;
        if let Some(run) = job.runs.last_mut() {
            if fr.status == Status::Ok {
                run.done += 1;
            } else {
                run.failed += 1;
            }
        }
        if job.started < job.spec.tasks {
            job.launch(ctx);
        }
        job.finish_if_done(ctx);
    }
}

impl Job {
    /// Sends the next task to the next machine of its service.
    fn launch(&mut self, ctx: &mut Context) {
        let now = ctx.now;
        let counted = ctx.window.contains(now);
        let record = carrier(
            Op::Task,
            self.spec.service,
            self.home,
            self.spec.class,
            now,
            counted,
        );
        let r = ctx.requests.insert(record);
        let machine = self.next_machine;
        self.next_machine = (self.next_machine + 1) % self.spec.machines.max(1);
        // The job runs beside the service: its tasks' calls and answers cross no network.
        let f = ctx.frames.insert(Frame {
            request: r,
            component: self.spec.service,
            machine,
            fresh_connection: false,
            received: true,
            answer_received: true,
            ..Frame::default()
        });
        ctx.schedule(now, Event::FrameArrive { frame: f });
        self.started += 1;
        self.in_flight += 1;
    }

    fn finish_if_done(&mut self, ctx: &mut Context) {
        if self.running && self.in_flight == 0 && self.started >= self.spec.tasks {
            self.running = false;
            ctx.jobs_running -= 1;
            if let Some(run) = self.runs.last_mut() {
                run.end = Some(ctx.now);
            }
        }
    }
}
