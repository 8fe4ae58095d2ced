//! Outgoing mail (activation and password-reset links) over SMTP.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{SmtpSettings, SmtpTls};

use super::{App, ServiceError, ServiceResult};

#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl Mailer {
    pub fn new(s: &SmtpSettings) -> Result<Self, String> {
        let builder = match s.tls {
            SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &s.host,
            )),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host),
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host),
        }
        .map_err(|e| format!("smtp: {e}"))?;
        let mut builder = builder
            .port(s.port)
            .timeout(Some(Duration::from_secs(s.timeout_s)));
        if let (Some(user), Some(pass)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        let from = s
            .from
            .parse::<Mailbox>()
            .map_err(|e| format!("smtp.from '{}': {e}", s.from))?;
        Ok(Mailer {
            transport: builder.build(),
            from,
        })
    }

    pub async fn send(&self, to: &str, subject: &str, body: String) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("recipient '{to}': {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body)
            .map_err(|e| e.to_string())?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

impl App {
    fn mailer(&self) -> ServiceResult<&Mailer> {
        self.mailer.as_ref().ok_or_else(|| {
            ServiceError::invalid("Mail server is not configured (set [smtp] in the configuration)")
        })
    }

    pub(crate) async fn send_activation_mail(&self, to: &str, link: &str) -> ServiceResult<()> {
        let hours = self.settings.security.activation_ttl_hours;
        let body = format!(
            "Hello,\n\nan account was created for you. Open this link to set your password \
             and activate it (valid for {hours} hours):\n\n{link}\n"
        );
        self.mailer()?
            .send(to, "Your account activation", body)
            .await
            .map_err(ServiceError::Mail)
    }

    pub(crate) async fn send_reset_mail(&self, to: &str, link: &str) -> ServiceResult<()> {
        let hours = self.settings.security.reset_ttl_hours;
        let body = format!(
            "Hello,\n\nsomeone asked to reset the password of this account. Open this link \
             to choose a new one (valid for {hours} hours); ignore this mail otherwise:\n\n{link}\n"
        );
        self.mailer()?
            .send(to, "Password reset", body)
            .await
            .map_err(ServiceError::Mail)
    }

    pub(crate) fn mail_configured(&self) -> ServiceResult<()> {
        self.mailer().map(|_| ())
    }
}
