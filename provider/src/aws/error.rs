//! One error type for every AWS call: which call failed, AWS's error code,
//! and a kind the resource logic branches on. Never the request itself.

use std::fmt;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The object does not exist (NoSuchKey, NoSuchEntity, NoSuchDistribution, ...).
    NotFound,
    /// The bucket a call names does not exist: told apart from a missing
    /// object or setting in it, which is [`ErrorKind::NotFound`].
    NoSuchBucket,
    /// It exists already (EntityAlreadyExists, BucketAlreadyExists, ...).
    AlreadyExists,
    /// Still in use or changing (DistributionNotDisabled, ResourceInUse, PreconditionFailed, ...).
    Conflict,
    /// The endpoint could not be reached or timed out (after the SDK's retries).
    Unreachable,
    /// Credentials missing or refused, or no permission.
    AccessDenied,
    Other,
}

#[derive(Clone, Debug)]
pub struct AwsCallError {
    /// e.g. "s3:PutObject".
    pub operation: &'static str,
    pub code: Option<String>,
    pub message: String,
    pub kind: ErrorKind,
}

impl fmt::Display for AwsCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{} failed: {code}: {}", self.operation, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl std::error::Error for AwsCallError {}

impl AwsCallError {
    pub fn is_not_found(&self) -> bool {
        matches!(self.kind, ErrorKind::NotFound | ErrorKind::NoSuchBucket)
    }
    pub fn new(
        operation: &'static str,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> AwsCallError {
        AwsCallError {
            operation,
            code: None,
            message: message.into(),
            kind,
        }
    }
    /// A wait between calls cut short by StopProvider or the deadline
    /// (`Ctx::sleep`): kind Other, no AWS code, the interruption's message.
    pub fn interrupted(
        operation: &'static str,
        i: tfplugin::framework::Interrupted,
    ) -> AwsCallError {
        AwsCallError::new(operation, ErrorKind::Other, i.to_string())
    }
}

/// For `.build().map_err(build_error(OP))`: a request the SDK refused to
/// build (a required field missing), which is a bug on our side.
pub fn build_error<E: fmt::Display>(operation: &'static str) -> impl Fn(E) -> AwsCallError {
    move |e| {
        AwsCallError::new(
            operation,
            ErrorKind::Other,
            format!("the request could not be built: {e}"),
        )
    }
}

/// A response without a field AWS documents as always present.
pub fn missing(operation: &'static str, what: &str) -> AwsCallError {
    AwsCallError::new(
        operation,
        ErrorKind::Other,
        format!("the response lacks {what}"),
    )
}

/// Error codes that mean "not there", across the services we call.
const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchKey",
    "NotFound",
    "NoSuchEntity",
    "NoSuchDistribution",
    "NoSuchOriginAccessControl",
    "NoSuchInvalidation",
    "NoSuchResource",
    "NoSuchHostedZone",
    "ResourceNotFoundException",
    "NoSuchBucketPolicy",
    "NoSuchTagSet",
    "NoSuchTagSetError",
    "ServerSideEncryptionConfigurationNotFoundError",
    "NoSuchPublicAccessBlockConfiguration",
];

const ALREADY_EXISTS_CODES: &[&str] = &[
    "EntityAlreadyExists",
    "BucketAlreadyOwnedByYou",
    "BucketAlreadyExists",
    "OriginAccessControlAlreadyExists",
    "DistributionAlreadyExists",
    "CNAMEAlreadyExists",
    "InvalidationBatchAlreadyExists",
];

const CONFLICT_CODES: &[&str] = &[
    "DistributionNotDisabled",
    "ResourceInUseException",
    "OriginAccessControlInUse",
    "ResourceInUse",
    "RequestInProgressException",
    "PreconditionFailed",
    // S3: a conditional write racing another write of the key.
    "ConditionalRequestConflict",
    "InvalidIfMatchVersion",
    "BucketNotEmpty",
    "PriorRequestNotComplete",
    "ConcurrentModification",
    "ConcurrentModificationException",
    "OperationAborted",
];

const ACCESS_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "UnrecognizedClientException",
];

/// Classifies any SDK error. Works for every service because every
/// operation error carries the common error metadata.
pub fn classify<E, R>(operation: &'static str, e: SdkError<E, R>) -> AwsCallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    match &e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            let code = err.code().map(str::to_string);
            let kind = match code.as_deref() {
                Some("NoSuchBucket") => ErrorKind::NoSuchBucket,
                Some(c) if NOT_FOUND_CODES.contains(&c) => ErrorKind::NotFound,
                Some(c) if ALREADY_EXISTS_CODES.contains(&c) => ErrorKind::AlreadyExists,
                Some(c) if CONFLICT_CODES.contains(&c) => ErrorKind::Conflict,
                Some(c) if ACCESS_CODES.contains(&c) => ErrorKind::AccessDenied,
                _ => ErrorKind::Other,
            };
            let message = err.message().unwrap_or("no message").to_string();
            AwsCallError {
                operation,
                code,
                message,
                kind,
            }
        }
        SdkError::TimeoutError(_) => {
            AwsCallError::new(operation, ErrorKind::Unreachable, "the request timed out")
        }
        SdkError::DispatchFailure(d) => {
            let mut msg = "cannot reach the AWS endpoint".to_string();
            if let Some(c) = d.as_connector_error() {
                msg.push_str(&format!(": {c}"));
                let mut source = std::error::Error::source(c);
                while let Some(s) = source {
                    msg.push_str(&format!(": {s}"));
                    source = s.source();
                }
            }
            AwsCallError::new(operation, ErrorKind::Unreachable, msg)
        }
        SdkError::ResponseError(_) => AwsCallError::new(
            operation,
            ErrorKind::Other,
            "the response could not be read",
        ),
        SdkError::ConstructionFailure(_) => AwsCallError::new(
            operation,
            ErrorKind::Other,
            "the request could not be built",
        ),
        _ => AwsCallError::new(operation, ErrorKind::Other, e.to_string()),
    }
}
