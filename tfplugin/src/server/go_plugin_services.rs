//! go-plugin's side services: the controller (Shutdown), stdio and the
//! broker, which Terraform connects to but this plugin does not use.

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::Notify;
use tonic::{Request, Response, Status};

use super::*;
use crate::go_plugin;

pub struct Controller {
    pub(crate) shutdown: Arc<Notify>,
}

#[tonic::async_trait]
impl go_plugin::grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _req: Request<go_plugin::Empty>) -> RpcResult<go_plugin::Empty> {
        // Answer first, then stop serving: notify_one keeps the permit if the
        // server loop is not waiting yet.
        self.shutdown.notify_one();
        Ok(Response::new(go_plugin::Empty {}))
    }
}

pub struct Stdio;

type Pending<T> = Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl go_plugin::grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = Pending<go_plugin::StdioData>;
    async fn stream_stdio(
        &self,
        _req: Request<go_plugin::Empty>,
    ) -> RpcResult<Self::StreamStdioStream> {
        Ok(Response::new(Box::pin(futures::stream::pending())))
    }
}

pub struct Broker;

#[tonic::async_trait]
impl go_plugin::grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = Pending<go_plugin::ConnInfo>;
    async fn start_stream(
        &self,
        req: Request<tonic::Streaming<go_plugin::ConnInfo>>,
    ) -> RpcResult<Self::StartStreamStream> {
        // We broker nothing; drain what the host sends until it hangs up.
        let mut incoming = req.into_inner();
        tokio::spawn(async move { while let Ok(Some(_)) = incoming.message().await {} });
        Ok(Response::new(Box::pin(futures::stream::pending())))
    }
}
