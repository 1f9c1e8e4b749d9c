//! The pub/sub link under socketioxide's Redis adapter (socketioxide-redis),
//! which carries emits to a room across nodes (`emit_to` a session on any
//! node). The adapter and its wire format are socketioxide-redis's; this is
//! only the [`Driver`] it runs on.
//!
//! Why not the crate's own `RedisDriver`: it holds one multiplexed
//! connection made at start, so a node could not start while Redis is down
//! (ours does, see [`crate::cluster`]), and a Redis restart would cut every
//! node off for good. This driver sits on redis-rs's `ConnectionManager`,
//! which connects lazily, reconnects, and subscribes again to every channel
//! after a reconnect. Messages published while a node is cut off are lost,
//! as with any pub/sub: the adapter's requests then time out, and the
//! caller answers an error (a wave's sender is told, never left waiting).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{PushInfo, PushKind};
use socketioxide_redis::drivers::{ChanItem, Driver, MessageStream};
use socketioxide_redis::{CustomRedisAdapter, RedisAdapterConfig, RedisAdapterCtr};
use tokio::sync::mpsc;

use super::BadRedisUrl;
use crate::state::emit::REQUEST_TIMEOUT;

/// socketioxide's adapter on our driver: the `A` of `SocketIo<A>` in
/// shared mode.
pub type SharedAdapter = CustomRedisAdapter<socketioxide::adapter::Emitter, Bus>;

/// After a failed subscription, wait this long before trying again.
const RESUBSCRIBE_AFTER: Duration = Duration::from_millis(250);

/// Where each subscribed channel's messages go.
type Routes = Arc<RwLock<HashMap<String, mpsc::Sender<ChanItem>>>>;

/// A reconnecting pub/sub connection, shared by every namespace's adapter.
#[derive(Clone)]
pub struct Bus {
    conn: ConnectionManager,
    routes: Routes,
}

impl Bus {
    /// A bus on `url` (RESP3 is asked for: push messages need it). It
    /// connects when it can; nothing here waits for Redis.
    pub fn new(url: &str) -> Result<Self, BadRedisUrl> {
        let client = redis::Client::open(resp3(url)).map_err(BadRedisUrl)?;
        let routes = Routes::default();
        let push_routes = routes.clone();
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500))
            .set_automatic_resubscription()
            .set_push_sender(move |push: PushInfo| {
                route(push, &push_routes);
                Ok::<(), std::convert::Infallible>(())
            });
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(BadRedisUrl)?;
        Ok(Bus { conn, routes })
    }

    /// The adapter's constructor state for `SocketIo::builder().with_adapter`.
    pub fn adapter(self) -> RedisAdapterCtr<Bus> {
        let config = RedisAdapterConfig::new()
            .with_prefix("iss-socket.io")
            .with_request_timeout(REQUEST_TIMEOUT);
        RedisAdapterCtr::new_with_driver(self, config)
    }
}

/// Hands a pushed message to its channel's stream. A full stream drops it
/// (the adapter's request then times out): the push callback must not block.
fn route(push: PushInfo, routes: &Routes) {
    if !matches!(push.kind, PushKind::Message | PushKind::SMessage) {
        return;
    }
    let mut data = push.data.into_iter();
    let (Some(channel), Some(message)) = (data.next(), data.next()) else {
        return;
    };
    let (Ok(channel), Ok(message)) = (
        redis::from_redis_value::<String>(channel),
        redis::from_redis_value::<Vec<u8>>(message),
    ) else {
        return;
    };
    let routes = routes.read().unwrap_or_else(|e| e.into_inner());
    if let Some(tx) = routes.get(&channel) {
        if tx.try_send((channel, message)).is_err() {
            tracing::debug!("a cross-node message was dropped: its stream is full");
        }
    }
}

/// `url` with `protocol=resp3` added unless it names a protocol.
fn resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

/// The driver's error: Redis's, as it said it.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BusError(#[from] redis::RedisError);

impl Driver for Bus {
    type Error = BusError;

    async fn publish(&self, chan: String, val: Vec<u8>) -> Result<(), BusError> {
        let mut conn = self.conn.clone();
        redis::cmd("PUBLISH")
            .arg(chan)
            .arg(val)
            .query_async::<redis::Value>(&mut conn)
            .await?;
        Ok(())
    }

    async fn subscribe(
        &self,
        chan: String,
        size: usize,
    ) -> Result<MessageStream<ChanItem>, BusError> {
        let (tx, rx) = mpsc::channel(size);
        // Routed before the subscription exists: nothing can arrive unrouted.
        self.routes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(chan.clone(), tx);
        if self.conn.clone().subscribe(&chan).await.is_err() {
            // Redis is down: the namespace must not wait for it (socketioxide
            // opens a namespace only once its adapter has subscribed), so
            // keep trying in the background. Once subscribed, the manager
            // subscribes again by itself after every reconnect.
            let mut conn = self.conn.clone();
            tokio::spawn(async move {
                while conn.subscribe(&chan).await.is_err() {
                    tokio::time::sleep(RESUBSCRIBE_AFTER).await;
                }
            });
        }
        Ok(MessageStream::new(rx))
    }

    async fn unsubscribe(&self, chan: String) -> Result<(), BusError> {
        self.routes
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&chan);
        self.conn.clone().unsubscribe(chan).await?;
        Ok(())
    }

    async fn num_serv(&self, chan: &str) -> Result<u16, BusError> {
        let mut conn = self.conn.clone();
        let (_, count): (String, u16) = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(chan)
            .query_async(&mut conn)
            .await?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp3_is_asked_for_once() {
        assert_eq!(resp3("redis://h:1/"), "redis://h:1/?protocol=resp3");
        assert_eq!(
            resp3("redis://h:1/?db=2"),
            "redis://h:1/?db=2&protocol=resp3"
        );
        assert_eq!(
            resp3("redis://h/?protocol=resp2"),
            "redis://h/?protocol=resp2"
        );
    }
}
