//! The in-flight window of one stream of PUBLISHes (a device's session, or
//! the bridge's subscription at the broker): its messages are handled side
//! by side, so that they reach the store together and share commits, and
//! their outcomes come out in the order the messages came, which is the
//! order MQTT wants their PUBACKs in (3.1.1 section 4.6, 5 section 4.6).
//! Messages whose route needs order (everything but telemetry) are also
//! applied in that order: each waits until the one before it is handled.

use std::future::Future;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesOrdered, StreamExt};
use tokio::sync::oneshot;

use super::publish::Handled;
use super::topics::Route;
use super::wire::Reason;

/// The messages being handled, each with a tag for its answer (its packet
/// id, say), oldest first.
pub struct Window<T> {
    /// Polled by the window's owner rather than spawned, so that a commit
    /// wakes one task per connection, not one per message and then the
    /// connection.
    pending: FuturesOrdered<BoxFuture<'static, (T, Handled)>>,
    /// Done when the last message that must keep its order is handled.
    ordered_tail: Option<oneshot::Receiver<()>>,
}

impl<T: Send + 'static> Window<T> {
    pub fn new() -> Self {
        Window {
            pending: FuturesOrdered::new(),
            ordered_tail: None,
        }
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Starts handling the next message: `handling` runs once the messages
    /// before it that need order are handled, if `route` needs order too
    /// (`None`, for a topic no route takes, waits for nothing).
    pub fn push<F>(&mut self, tag: T, route: Option<&Route>, handling: F)
    where
        F: Future<Output = Handled> + Send + 'static,
    {
        let (before, done) = if route.is_some_and(Route::needs_order) {
            let (tx, rx) = oneshot::channel::<()>();
            (self.ordered_tail.replace(rx), Some(tx))
        } else {
            (None, None)
        };
        let handling = async move {
            if let Some(before) = before {
                // Err only says the message before has ended, which is what we wait for.
                let _ = before.await;
            }
            let handled = handling.await;
            drop(done);
            handled
        };
        // A panic is a bug in handling this message: it is refused, and the
        // others in flight carry on (the next ordered one too: unwinding
        // drops `done`).
        let handling = std::panic::AssertUnwindSafe(handling)
            .catch_unwind()
            .map(move |outcome| {
                let handled = outcome.unwrap_or_else(|_| {
                    tracing::error!("handling an MQTT message panicked");
                    Err(Reason::ServerError)
                });
                (tag, handled)
            });
        self.pending.push_back(Box::pin(handling));
    }

    /// The oldest message's outcome, once it is handled; `None` when empty.
    pub async fn next(&mut self) -> Option<(T, Handled)> {
        self.pending.next().await
    }

    /// The oldest message's outcome if it is handled already: to answer
    /// messages committed together in one write.
    pub fn ready(&mut self) -> Option<(T, Handled)> {
        self.pending.next().now_or_never().flatten()
    }

    /// Drops every message in flight, unanswered (what they had committed
    /// stays committed).
    pub fn clear(&mut self) {
        self.pending = FuturesOrdered::new();
        self.ordered_tail = None;
    }
}

impl<T: Send + 'static> Default for Window<T> {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn after(ms: u64, handled: Handled) -> Handled {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        handled
    }

    #[tokio::test]
    async fn outcomes_come_in_the_order_messages_came() {
        let mut w = Window::new();
        w.push(1, Some(&Route::Telemetry), after(30, Ok(None)));
        w.push(
            2,
            Some(&Route::Telemetry),
            after(1, Err(Reason::ServerError)),
        );
        w.push(3, None, after(0, Err(Reason::TopicNameInvalid)));
        assert_eq!(w.len(), 3);
        let mut tags = Vec::new();
        while let Some((tag, _)) = w.next().await {
            tags.push(tag);
        }
        assert_eq!(tags, [1, 2, 3]);
        assert!(w.is_empty());
    }

    #[tokio::test]
    async fn ordered_routes_apply_one_after_the_other() {
        let applied = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut w = Window::new();
        for (tag, ms) in [(1, 30), (2, 0)] {
            let applied = std::sync::Arc::clone(&applied);
            w.push(tag, Some(&Route::GatewayAttributes), async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                applied.lock().unwrap().push(tag);
                Ok(None)
            });
        }
        while w.next().await.is_some() {}
        assert_eq!(*applied.lock().unwrap(), [1, 2]);
    }

    #[tokio::test]
    async fn a_panic_refuses_its_message_and_releases_the_next() {
        let mut w = Window::new();
        fn bug() -> Handled {
            panic!("a bug in handling")
        }
        w.push(1, Some(&Route::Attributes), async { bug() });
        w.push(2, Some(&Route::Attributes), after(0, Ok(None)));
        assert_eq!(w.next().await, Some((1, Err(Reason::ServerError))));
        assert_eq!(w.next().await, Some((2, Ok(None))));
    }
}
