// Senders: each posts numbered messages into the conversation through the chat API, one at a
// time, and retries any failure (refused connection, timeout, 5xx, 429) with the same
// `client_id` until the server acknowledges it, as the widget's outbox does. Each attempt goes to
// the next node, as a load balancer would spread retries. An acknowledgement is a 201 (stored
// now) or a 200 (stored by an earlier attempt whose answer was lost); both carry the id.

import { randomBytes } from 'node:crypto';

const ATTEMPT_TIMEOUT_MS = 5000;
const RETRY_DELAY_MS = 200;
const PACE_MS = 120;
/** After the run, how long a sender keeps retrying its last message. */
const FINISH_MS = 60000;

export class Sender {
  /**
   * @param {object} o
   * @param {string} o.name e.g. `s1`
   * @param {import('./parley.mjs').ParleyNode[]} o.nodes
   * @param {{id:number, visitorToken:string, token:string}} o.conversation
   * @param {string} o.tag scenario tag written into each text
   * @param {number} o.offset which node the first attempt goes to
   */
  constructor({ name, nodes, conversation, tag, offset = 0 }) {
    Object.assign(this, { name, nodes, conversation, tag });
    this.next = offset;
    this.sent = []; // {client_id, text, seq}
    this.acked = new Map(); // client_id -> {id, status}
    this.attempts = 0;
    this.failures = {}; // what failed attempts saw: status code or error code -> count
    this.unexpected = []; // answers that are neither success nor worth retrying
    this.running = false;
  }

  start() {
    this.running = true;
    this.done = this.loop();
  }

  stop() {
    this.running = false;
    return this.done;
  }

  async loop() {
    for (let seq = 1; this.running; seq++) {
      const client_id = `${this.tag}-${this.name}-${seq}-${randomBytes(3).toString('hex')}`;
      const text = `chaos ${this.tag} ${this.name} #${seq} ${client_id}`;
      this.sent.push({ client_id, text, seq });
      await this.deliver(client_id, text);
      if (this.running) await new Promise((r) => setTimeout(r, PACE_MS));
    }
  }

  async deliver(client_id, text) {
    for (;;) {
      if (!this.running) {
        this.finishBy ??= Date.now() + FINISH_MS;
        if (Date.now() > this.finishBy) return; // left unacknowledged: the test reports it
      }
      const node = this.nodes[this.next++ % this.nodes.length];
      this.attempts++;
      const outcome = await this.attempt(node, client_id, text);
      if (outcome.ok) {
        this.acked.set(client_id, { id: outcome.id, status: outcome.status, node: node.name, at: Date.now() });
        return;
      }
      this.failures[outcome.why] = (this.failures[outcome.why] || 0) + 1;
      if (outcome.unexpected) this.unexpected.push(`${client_id} via ${node.name}: ${outcome.unexpected}`);
      await new Promise((r) => setTimeout(r, RETRY_DELAY_MS));
    }
  }

  async attempt(node, client_id, text) {
    let res;
    let body;
    try {
      res = await fetch(`${node.baseUrl}/api/chatbot/conversation/${this.conversation.id}/messages`, {
        method: 'POST',
        headers: {
          Authorization: 'Bearer ' + this.conversation.token,
          'X-Visitor-Token': this.conversation.visitorToken,
          'Content-Type': 'application/json',
          Accept: 'application/json',
        },
        body: JSON.stringify({ message: text, client_id }),
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      body = await res.text();
    } catch (error) {
      const code = error?.cause?.code || error?.name || 'error';
      return { ok: false, why: code };
    }
    if (res.status === 201 || res.status === 200) {
      let json;
      try {
        json = JSON.parse(body);
      } catch {
        return { ok: false, why: `${res.status}-not-json`, unexpected: `${res.status} with a body that is not JSON` };
      }
      const m = json?.message;
      if (!Number.isSafeInteger(m?.id) || m.client_id !== client_id || m.message !== text) {
        return { ok: false, why: `${res.status}-wrong`, unexpected: `${res.status} answered with ${body.slice(0, 200)}` };
      }
      return { ok: true, id: m.id, status: res.status };
    }
    const retryable = res.status >= 500 || res.status === 429 || res.status === 408;
    return { ok: false, why: String(res.status), unexpected: retryable ? null : `${res.status} ${body.slice(0, 200)}` };
  }
}
