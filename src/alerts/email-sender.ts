/** Alert e-mail over SMTP (nodemailer): one message per event to the group's recipients. */
import nodemailer from 'nodemailer';
import { alertTitle, type AlertMessage } from './alert-message.js';

export interface SmtpSettings {
  host: string;
  port: number;
  /** TLS from the start (port 465); otherwise STARTTLS when the server offers it */
  secure: boolean;
  user?: string;
  pass?: string;
  from: string;
  /** give up on an unreachable or silent server after this long (the delivery is retried later) */
  timeoutMs?: number;
}

export class EmailSender {
  readonly #transport: nodemailer.Transporter;

  constructor(private readonly smtp: SmtpSettings) {
    const timeout = smtp.timeoutMs ?? 15_000;
    this.#transport = nodemailer.createTransport({
      host: smtp.host, port: smtp.port, secure: smtp.secure,
      auth: smtp.user ? { user: smtp.user, pass: smtp.pass ?? '' } : undefined,
      connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout,
    });
  }

  async send(message: AlertMessage, recipients: string[]): Promise<void> {
    await this.#transport.sendMail({
      from: this.smtp.from,
      to: recipients,
      subject: alertTitle(message),
      text: [
        message.summary, '',
        `Alert:    ${message.key}`,
        `State:    ${message.previousState} → ${message.state}`,
        `Severity: ${message.severity}`,
        `At:       ${message.at}`,
      ].join('\n'),
    });
  }

  close(): void {
    this.#transport.close();
  }
}
