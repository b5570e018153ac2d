//! The context of one call: Terraform's StopProvider cancels it, and an
//! operation's timeout bounds it.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::diag::{Diagnostic, Diagnostics};
use crate::timeouts::Operation;

/// Per-call context: cancelled when Terraform calls StopProvider (e.g. on
/// Ctrl-C), and optionally bounded by a deadline (resource `timeouts`).
#[derive(Clone, Debug)]
pub struct Ctx {
    cancel: CancellationToken,
    deadline: Option<Instant>,
    /// The operation whose timeout set the deadline, and that timeout, for
    /// messages ("did not finish within `timeouts.create` (15s)").
    timeout: Option<(Operation, Duration)>,
}

/// Why a call was cut short.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Interrupted {
    #[error("the operation was cancelled because Terraform asked the provider to stop")]
    Stopped,
    #[error("the operation did not finish before its deadline")]
    DeadlineExceeded,
}

impl Ctx {
    pub fn new(cancel: CancellationToken) -> Ctx {
        Ctx {
            cancel,
            deadline: None,
            timeout: None,
        }
    }

    /// A context that cannot be cancelled: for tests and offline tools.
    pub fn background() -> Ctx {
        Ctx::new(CancellationToken::new())
    }

    /// The same context, with a deadline `timeout` from now (the earlier
    /// deadline wins if one is already set).
    pub fn with_timeout(&self, timeout: Duration) -> Ctx {
        let d = Instant::now() + timeout;
        Ctx {
            cancel: self.cancel.clone(),
            deadline: Some(self.deadline.map_or(d, |old| old.min(d))),
            timeout: self.timeout,
        }
    }

    /// The context of `op`, bounded by its `timeout` (see [`Ctx::timeout`]).
    pub fn with_operation_timeout(&self, op: Operation, timeout: Duration) -> Ctx {
        Ctx {
            timeout: Some((op, timeout)),
            ..self.with_timeout(timeout)
        }
    }

    /// The operation timeout this context runs under, if any.
    pub fn timeout(&self) -> Option<(Operation, Duration)> {
        self.timeout
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub fn is_stopped(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Runs `fut` unless Terraform stops the provider or the deadline passes first.
    pub async fn run<F: std::future::Future>(&self, fut: F) -> Result<F::Output, Interrupted> {
        let deadline = async {
            match self.deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            out = fut => Ok(out),
            _ = self.cancel.cancelled() => Err(Interrupted::Stopped),
            _ = deadline => Err(Interrupted::DeadlineExceeded),
        }
    }

    /// Sleeps, waking early with an error on stop or deadline.
    pub async fn sleep(&self, d: Duration) -> Result<(), Interrupted> {
        self.run(tokio::time::sleep(d)).await
    }
}

impl From<Interrupted> for Diagnostic {
    fn from(i: Interrupted) -> Diagnostic {
        Diagnostic::error("Operation interrupted", i.to_string())
    }
}

impl From<Interrupted> for Diagnostics {
    fn from(i: Interrupted) -> Diagnostics {
        Diagnostic::from(i).into()
    }
}
