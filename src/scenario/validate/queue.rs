//! Validation of queues, topics and what uses them: a `queue` component (its broker's
//! machine, its limits and timeouts), a `topic` and its subscriptions, a service's `send` and
//! `publish` steps, and a service's `consumes`.

use super::Checker;
use super::hosts::server_machine;
use crate::engine::time::SimTime;
use crate::model::compute::server::{ServerSpec, Step};
use crate::model::ids::ComponentId;
use crate::model::messaging::jobs::JobSpec;
use crate::model::messaging::queue::{ConsumerSpec, Polling, QueueRules, QueueSpec, QueueStep};
use crate::model::messaging::topic::{Subscriber, SubscriptionSpec, TopicSpec, TopicStep};
use crate::scenario::raw::*;
use crate::scenario::suggest::hint;

/// Longest wait of a long poll, visibility timeout and retention (a year): times in events.
const MAX_QUEUE_TIME_S: f64 = 31_536_000.0;
/// Most messages one receive takes.
const MAX_BATCH: u64 = 1_000;
/// Most receive loops per consumer replica.
const MAX_CONCURRENCY: u64 = 10_000;
/// Most partitions of a log.
const MAX_PARTITIONS: u64 = 10_000;
/// Most message groups of a FIFO queue (a group takes 16 bytes).
const MAX_MESSAGE_GROUPS: u64 = 1_000_000;

pub(super) fn queue(c: &mut Checker, path: &str, name: &str, q: &RawQueue) -> QueueSpec {
    let machine = server_machine(c, path, q.machine.as_ref(), q.host.as_ref());
    let workers = c.at_least(&format!("{path}.workers"), u64::from(q.workers), 1) as u32;
    let cpu = c.dist(&format!("{path}.request_cpu_ms"), &q.request_cpu_ms);
    if cpu.mean_ns() <= 0.0 {
        c.problem(
            format!("{path}.request_cpu_ms"),
            "every API call costs the broker some CPU: give a mean above 0 (0.1 ms is typical)",
        );
    }
    let cpu = cpu.scaled(1.0 / machine.cpu_speed);
    let max_messages = c.at_least(&format!("{path}.max_messages"), q.max_messages, 1);
    let seconds = |c: &mut Checker, field: &str, v: f64| {
        let p = format!("{path}.{field}");
        let v = c.positive(&p, v);
        SimTime::from_secs(
            c.within(&p, v, 0.001, MAX_QUEUE_TIME_S)
                .clamp(0.001, MAX_QUEUE_TIME_S),
        )
    };
    let retention = seconds(c, "retention_s", q.retention_s);
    let visibility_timeout = seconds(c, "visibility_timeout_s", q.visibility_timeout_s);
    let max_receives = q
        .max_receives
        .map(|n| c.count(&format!("{path}.max_receives"), u64::from(n), 1, 1000) as u16);
    let dead_letter_queue = q
        .dead_letter_queue
        .as_ref()
        .map(|dlq| dead_letter_queue(c, path, name, dlq, max_receives.is_some()));
    let cost = c.number(
        &format!("{path}.cost_per_million_requests"),
        q.cost_per_million_requests,
        0.0,
        1e6,
    );
    let message_groups = match (q.fifo, q.message_groups) {
        (true, groups) => Some(c.count(
            &format!("{path}.message_groups"),
            u64::from(groups.unwrap_or(1)),
            1,
            MAX_MESSAGE_GROUPS,
        ) as u32),
        (false, None) => None,
        (false, Some(_)) => {
            c.problem(
                format!("{path}.message_groups"),
                "message groups are a FIFO queue's: add \"fifo\": true, or remove message_groups",
            );
            None
        }
    };
    let program = vec![Step::Cpu(cpu), Step::Own(QueueStep::Apply)];
    QueueSpec {
        server: ServerSpec {
            machine,
            machine_count: 1,
            workers,
            queue_capacity: q.queue_capacity,
            programs: vec![program; c.class_names.len()],
            connect_programs: Vec::new(),
            pools: Vec::new(),
            disk_in_memory: 0.0,
        },
        rules: QueueRules {
            max_messages,
            retention,
            visibility_timeout,
            max_receives,
            persistent: q.persistent,
            cost_per_million_requests: cost,
            message_groups,
            dead_letter_queue,
        },
        consumers: consumers_of(c, name),
        partitions: None,
    }
}

/// A `log` component: a queue's broker, with partitions and retention and none of a
/// queue's delivery rules (a log keeps every record for its retention and has no
/// visibility timeout, dead letters or depth limit).
pub(super) fn log(c: &mut Checker, path: &str, name: &str, l: &RawLog) -> QueueSpec {
    let as_queue = RawQueue {
        region: l.region.clone(),
        machine: l.machine.clone(),
        host: l.host.clone(),
        workers: l.workers,
        queue_capacity: l.queue_capacity,
        request_cpu_ms: l.request_cpu_ms.clone(),
        max_messages: u64::MAX,
        retention_s: l.retention_s,
        visibility_timeout_s: MAX_QUEUE_TIME_S,
        max_receives: None,
        dead_letter_queue: None,
        persistent: false,
        cost_per_million_requests: 0.0,
        fifo: false,
        message_groups: None,
    };
    let mut spec = queue(c, path, name, &as_queue);
    let partitions = c.count(
        &format!("{path}.partitions"),
        u64::from(l.partitions),
        1,
        MAX_PARTITIONS,
    );
    spec.partitions = Some(partitions as u32);
    spec
}

/// Queue `name`'s dead-letter queue `dlq`: another queue (not a log), and only with
/// `max_receives`, which decides what goes there.
fn dead_letter_queue(
    c: &mut Checker,
    path: &str,
    name: &str,
    dlq: &str,
    has_max_receives: bool,
) -> ComponentId {
    let p = format!("{path}.dead_letter_queue");
    let id = c.component(&p, dlq);
    match c.raw.components.get(dlq) {
        Some(RawComponent::Queue(_)) if dlq == name => c.problem(
            &p,
            "a queue cannot be its own dead-letter queue: name another queue",
        ),
        Some(RawComponent::Queue(_)) | None => {}
        Some(_) => c.problem(
            &p,
            format!("`{dlq}` is not a queue: a dead-letter queue is a component of kind `queue`"),
        ),
    }
    if !has_max_receives {
        c.problem(
            &p,
            "a message goes to the dead-letter queue after max_receives receives: give \
             max_receives (SQS's maxReceiveCount; 3 to 5 is common)",
        );
    }
    id
}

/// The services consuming queue `name`, in name order (their `consumes` is checked with the
/// service, `consumes`).
fn consumers_of(c: &Checker, name: &str) -> Vec<ConsumerSpec> {
    c.raw
        .components
        .iter()
        .enumerate()
        .filter_map(|(i, (_, comp))| match comp {
            RawComponent::Service(s) => {
                s.consumes
                    .as_ref()
                    .filter(|k| k.queue == name)
                    .map(|k| ConsumerSpec {
                        service: ComponentId::from_index(i),
                        machines: s.replicas.max(1),
                        concurrency: k.concurrency.clamp(1, MAX_CONCURRENCY as u32),
                        batch: k.batch_size.clamp(1, MAX_BATCH as u32) as u16,
                        polling: polling(k),
                        batch_call: k.process == RawProcess::Batch,
                    })
            }
            _ => None,
        })
        .collect()
}

fn polling(k: &RawConsumes) -> Polling {
    if let Some(every) = k.every_s {
        return Polling::Every {
            every: SimTime::from_secs(every.clamp(0.001, MAX_QUEUE_TIME_S)),
        };
    }
    match k.polling {
        RawPolling::Long => Polling::Long {
            wait: SimTime::from_secs(k.wait_time_s.clamp(0.0, MAX_QUEUE_TIME_S)),
        },
        RawPolling::Short => Polling::Short {
            interval: SimTime::from_secs((k.poll_interval_ms / 1e3).clamp(0.0, MAX_QUEUE_TIME_S)),
        },
        RawPolling::Push => Polling::Push {
            prefetch: k.prefetch.unwrap_or(u32::MAX).max(1),
        },
    }
}

/// A service's `consumes` (at `path`): the queue exists and is one, the numbers fit.
pub(super) fn consumes(c: &mut Checker, path: &str, k: &RawConsumes) {
    let p = format!("{path}.consumes");
    is_queue(c, &format!("{p}.queue"), &k.queue, "consume");
    if k.polling == RawPolling::Push
        && matches!(c.raw.components.get(&k.queue), Some(RawComponent::Log(_)))
    {
        c.problem(
            format!("{p}.polling"),
            format!(
                "`{}` is a log: its consumers fetch (`long` or `short` polling), a log does not \
                 push",
                k.queue
            ),
        );
    }
    c.count(
        &format!("{p}.concurrency"),
        u64::from(k.concurrency),
        1,
        MAX_CONCURRENCY,
    );
    c.count(
        &format!("{p}.batch_size"),
        u64::from(k.batch_size),
        1,
        MAX_BATCH,
    );
    c.number(
        &format!("{p}.wait_time_s"),
        k.wait_time_s,
        0.0,
        MAX_QUEUE_TIME_S,
    );
    c.number(
        &format!("{p}.poll_interval_ms"),
        k.poll_interval_ms,
        0.0,
        MAX_QUEUE_TIME_S * 1e3,
    );
    push_settings(c, &p, k);
}

/// `prefetch` belongs to push, and the pull loop's `concurrency` and `batch_size` do not.
fn push_settings(c: &mut Checker, p: &str, k: &RawConsumes) {
    if k.polling == RawPolling::Push {
        if let Some(n) = k.prefetch {
            c.count(
                &format!("{p}.prefetch"),
                u64::from(n),
                1,
                u64::from(u32::MAX),
            );
        }
        for (field, value) in [("concurrency", k.concurrency), ("batch_size", k.batch_size)] {
            if value != 1 {
                c.problem(
                    format!("{p}.{field}"),
                    format!(
                        "`{field}` is for pulling consumers: a pushed message is processed by \
                         one of the service's workers as it arrives; remove `{field}` (set \
                         the service's `workers`, or `prefetch` to bound what a replica holds)"
                    ),
                );
            }
        }
    } else if k.prefetch.is_some() {
        c.problem(
            format!("{p}.prefetch"),
            "`prefetch` bounds what the queue pushes to a replica, and this consumer pulls: \
             remove it, or set `\"polling\": \"push\"`",
        );
    }
}

/// A `send` step at `path`.
pub(super) fn send_step<S>(c: &mut Checker, path: &str, s: &RawSend) -> Step<S> {
    let queue = is_queue(c, &format!("{path}.queue"), &s.queue, "send to");
    let class = message_class(c, &format!("{path}.message"), &s.message);
    Step::Send { queue, class }
}

/// A `publish` step at `path`.
pub(super) fn publish_step<S>(c: &mut Checker, path: &str, p: &RawPublish) -> Step<S> {
    let topic = c.component(&format!("{path}.topic"), &p.topic);
    if let Some(kind) = c.raw.components.get(&p.topic)
        && !matches!(kind, RawComponent::Topic(_))
    {
        c.problem(
            format!("{path}.topic"),
            format!(
                "`{}` is not a topic: a service can only publish to a component of kind `topic`",
                p.topic
            ),
        );
    }
    let class = message_class(c, &format!("{path}.message"), &p.message);
    Step::Send {
        queue: topic,
        class,
    }
}

/// The class index of message class `name` (a `send`'s or `publish`'s `message`, a job's
/// `task`, at `path`).
fn message_class(c: &mut Checker, path: &str, name: &str) -> u16 {
    match c.class_names.iter().position(|n| n == name) {
        Some(i) => i as u16,
        None => {
            let h = hint(name, c.class_names.iter().map(String::as_str));
            c.problem(
                path,
                format!(
                    "no request class named `{name}`{h}: it is declared in workload.classes \
                     (with `weight: 0` if users never send it)"
                ),
            );
            0
        }
    }
}

/// The id of `name`, which must be a queue (`verb`: what the scenario does with it).
fn is_queue(c: &mut Checker, path: &str, name: &str, verb: &str) -> ComponentId {
    let id = c.component(path, name);
    if let Some(kind) = c.raw.components.get(name)
        && !matches!(kind, RawComponent::Queue(_) | RawComponent::Log(_))
    {
        c.problem(
            path,
            format!(
                "`{name}` is not a queue: a service can only {verb} a component of kind `queue` \
                 (or `log`)"
            ),
        );
    }
    id
}

/// A `call` (or `batch`, or fallback) at `path` to `name`: a queue is sent to and a topic
/// published to, not called.
pub(super) fn not_a_queue(c: &mut Checker, path: &str, name: &str) {
    match c.raw.components.get(name) {
        Some(RawComponent::Queue(_)) => c.problem(
            path,
            format!(
                "`{name}` is a queue: send it messages with {{\"send\": {{\"queue\": \"{name}\", \"message\": CLASS}}}}"
            ),
        ),
        Some(RawComponent::Topic(_)) => c.problem(
            path,
            format!(
                "`{name}` is a topic: publish to it with {{\"publish\": {{\"topic\": \"{name}\", \"message\": CLASS}}}}"
            ),
        ),
        Some(RawComponent::Log(_)) => c.problem(
            path,
            format!(
                "`{name}` is a log: append to it with {{\"send\": {{\"queue\": \"{name}\", \"message\": CLASS}}}}"
            ),
        ),
        _ => {}
    }
}

pub(super) fn topic(c: &mut Checker, path: &str, t: &RawTopic) -> TopicSpec {
    let machine = server_machine(c, path, t.machine.as_ref(), t.host.as_ref());
    let workers = c.at_least(&format!("{path}.workers"), u64::from(t.workers), 1) as u32;
    let cpu = c.dist(&format!("{path}.request_cpu_ms"), &t.request_cpu_ms);
    if cpu.mean_ns() <= 0.0 {
        c.problem(
            format!("{path}.request_cpu_ms"),
            "every publish costs the topic some CPU: give a mean above 0 (0.1 ms is typical)",
        );
    }
    let cpu = cpu.scaled(1.0 / machine.cpu_speed);
    if t.subscribers.is_empty() {
        c.problem(
            format!("{path}.subscribers"),
            "a topic needs at least one subscriber (a queue or a service)",
        );
    }
    c.at_most_items(
        &format!("{path}.subscribers"),
        t.subscribers.len(),
        100,
        "subscribers",
    );
    let subscriptions: Vec<SubscriptionSpec> = t
        .subscribers
        .iter()
        .enumerate()
        .map(|(i, s)| subscription(c, &format!("{path}.subscribers[{i}]"), s))
        .collect();
    for (i, s) in subscriptions.iter().enumerate() {
        if subscriptions[..i].iter().any(|o| o.to == s.to) {
            c.problem(
                format!("{path}.subscribers[{i}]"),
                "subscribes the same queue or service twice: give it once",
            );
        }
    }
    let program = vec![Step::Cpu(cpu), Step::Own(TopicStep::FanOut)];
    TopicSpec {
        server: ServerSpec {
            machine,
            machine_count: 1,
            workers,
            queue_capacity: t.queue_capacity,
            programs: vec![program; c.class_names.len()],
            connect_programs: Vec::new(),
            pools: Vec::new(),
            disk_in_memory: 0.0,
        },
        subscriptions,
    }
}

fn subscription(c: &mut Checker, path: &str, s: &RawSubscription) -> SubscriptionSpec {
    let retries = c.count(&format!("{path}.retries"), u64::from(s.retries), 0, 20) as u8;
    let backoff = c.number(
        &format!("{path}.retry_backoff_ms"),
        s.retry_backoff_ms,
        0.001,
        1e7,
    );
    let to = match (&s.queue, &s.service) {
        (Some(q), None) => {
            let id = c.component(&format!("{path}.queue"), q);
            if c.raw
                .components
                .get(q)
                .is_some_and(|k| !matches!(k, RawComponent::Queue(_) | RawComponent::Log(_)))
            {
                c.problem(
                    format!("{path}.queue"),
                    format!("`{q}` is not a queue: give a queue as `queue`, or a service as `service` (a push)"),
                );
            }
            if s.retries > 0 {
                c.problem(
                    format!("{path}.retries"),
                    "a queue keeps what it accepts: retries are for pushes to a service",
                );
            }
            Subscriber::Queue(id)
        }
        (None, Some(name)) => {
            let id = c.component(&format!("{path}.service"), name);
            let machines = match c.raw.components.get(name) {
                Some(RawComponent::Service(svc)) => svc.replicas.max(1),
                Some(_) => {
                    c.problem(
                        format!("{path}.service"),
                        format!("`{name}` is not a service: a topic pushes to services (or sends to queues)"),
                    );
                    1
                }
                None => 1,
            };
            Subscriber::Push {
                service: id,
                machines,
            }
        }
        _ => {
            c.problem(
                path,
                "give exactly one of `queue` (durable) or `service` (a push)",
            );
            Subscriber::Queue(super::UNKNOWN)
        }
    };
    SubscriptionSpec {
        to,
        retries,
        backoff: SimTime::from_ms(backoff),
    }
}

/// A workload entry at `path` naming `name`: users call services, balancers, caches or
/// databases; a queue or a topic is reached through a service's `send` or `publish`.
pub(super) fn not_an_entry(c: &mut Checker, path: &str, name: &str) {
    let kind = match c.raw.components.get(name) {
        Some(RawComponent::Queue(_)) => "queue",
        Some(RawComponent::Log(_)) => "log",
        Some(RawComponent::Topic(_)) => "topic",
        _ => return,
    };
    let step = if kind == "topic" { "publish" } else { "send" };
    c.problem(
        path,
        format!("`{name}` is a {kind}: users cannot call it; make a service the entry and have it `{step}` to the {kind}"),
    );
}

/// Most starts of one job over a run.
const MAX_JOB_STARTS: usize = 10_000;

/// The scenario's `jobs`, in name order, each start time within the run (`duration` s).
pub(super) fn jobs(c: &mut Checker, duration: f64) -> Vec<JobSpec> {
    let mut out = Vec::new();
    for (name, j) in &c.raw.jobs {
        let path = format!("jobs.{name}");
        let service = c.component(&format!("{path}.service"), &j.service);
        let machines = match c.raw.components.get(&j.service) {
            Some(RawComponent::Service(s)) => s.replicas.max(1),
            Some(_) => {
                c.problem(
                    format!("{path}.service"),
                    format!(
                        "`{}` is not a service: a job's tasks run a service's handler",
                        j.service
                    ),
                );
                1
            }
            None => 1,
        };
        let class = message_class(c, &format!("{path}.task"), &j.task);
        let tasks = c.count(&format!("{path}.tasks"), u64::from(j.tasks), 1, 100_000_000) as u32;
        let concurrency = c.count(
            &format!("{path}.concurrency"),
            u64::from(j.concurrency),
            1,
            100_000,
        ) as u32;
        if j.at_s.is_empty() {
            c.problem(format!("{path}.at_s"), "needs at least one start time");
        }
        let mut starts = Vec::new();
        let mut last = f64::NEG_INFINITY;
        for (i, &at) in j.at_s.iter().enumerate() {
            let p = format!("{path}.at_s[{i}]");
            let at = c.number(&p, at, 0.0, super::MAX_DURATION_S);
            if at <= last {
                c.problem(&p, "start times must increase");
            } else if at >= duration {
                c.problem(&p, format!("starts after the run's end ({duration} s)"));
            }
            last = at;
            starts.push(at);
        }
        if let Some(every) = j.every_s {
            let p = format!("{path}.every_s");
            let every = c.number(&p, every, 0.001, super::MAX_DURATION_S);
            let mut at = last + every;
            while at < duration && starts.len() <= MAX_JOB_STARTS {
                starts.push(at);
                at += every;
            }
        }
        if starts.len() > MAX_JOB_STARTS {
            c.problem(
                &path,
                format!("starts more than {MAX_JOB_STARTS} times in the run: a longer every_s"),
            );
        }
        out.push(JobSpec {
            name: name.clone(),
            service,
            machines,
            class,
            tasks,
            concurrency,
            starts: starts.into_iter().map(SimTime::from_secs).collect(),
        });
    }
    out
}
