// A worker thread that decodes image files ahead of the training loop. The loop is synchronous, so it takes
// results with receiveMessageOnPort and sleeps on a shared counter (Atomics.wait) only when the worker is behind.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { ImageError, TorchError, type ImageErrorReason } from '../errors.js';
import { decodeCore, type DecodedImage } from '../vision/decode.js';

type Reply = { id: number; data: Uint8Array; width: number; height: number } | { id: number; error: string; reason: ImageErrorReason };

/** Seconds without any decoded image, while one is awaited, before the worker counts as stuck. */
const STALL_SECONDS = 300;

function workerSource(): string {
  return `
const { workerData } = require('node:worker_threads');
const { stat } = require('node:fs/promises');
const sharp = require('node:module').createRequire(workerData.requireFrom)('sharp');
const decodeCore = ${decodeCore.toString()};
const signal = new Int32Array(workerData.signal);
const port = workerData.port;
const queue = [];
let active = 0;
function reply(message, transfer) {
  port.postMessage(message, transfer);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}
function pump() {
  while (active < workerData.concurrency && queue.length > 0) {
    const request = queue.shift();
    active += 1;
    decodeCore(sharp, stat, request.path, workerData.maxPixels).then((result) => {
      if (result.error) return reply({ id: request.id, error: result.error, reason: result.reason }, []);
      const data = new Uint8Array(result.data);
      reply({ id: request.id, data, width: result.width, height: result.height }, [data.buffer]);
    }, (error) => reply({ id: request.id, error: String(error && error.message || error), reason: 'corrupt' }, [])).finally(() => {
      active -= 1;
      pump();
    });
  }
}
port.on('message', (request) => { queue.push(request); pump(); });
`;
}

export class DecodeWorker {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #signal = new Int32Array(new SharedArrayBuffer(4));
  readonly #done = new Map<number, Reply>();
  #closed = false;

  /** concurrency: images decoded at once (libvips threads on the worker's side). */
  constructor(options: { maxPixels: number; concurrency?: number }) {
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    this.#worker = new Worker(workerSource(), {
      eval: true,
      workerData: { port: port2, signal: this.#signal.buffer, maxPixels: options.maxPixels, concurrency: options.concurrency ?? 8, requireFrom: import.meta.url },
      transferList: [port2],
    });
    this.#worker.unref();
    this.#port.unref();
  }

  /** Queues a file for decoding under this id. */
  request(id: number, path: string): void {
    if (this.#closed) throw new TorchError('DecodeWorker: closed');
    this.#port.postMessage({ id, path });
  }

  /** The decoded image of a requested id (waits, without the event loop, until it is ready). */
  take(id: number): DecodedImage {
    let waitedMs = 0;
    for (;;) {
      const seen = Atomics.load(this.#signal, 0);
      for (let m = receiveMessageOnPort(this.#port); m; m = receiveMessageOnPort(this.#port)) this.#done.set((m.message as Reply).id, m.message as Reply);
      const reply = this.#done.get(id);
      if (reply) {
        this.#done.delete(id);
        if ('error' in reply) throw new ImageError(reply.error, reply.reason);
        return { data: reply.data, width: reply.width, height: reply.height, channels: 3 };
      }
      const started = performance.now();
      if (Atomics.wait(this.#signal, 0, seen, 1000) === 'timed-out') {
        waitedMs += performance.now() - started;
        if (waitedMs > STALL_SECONDS * 1000) throw new TorchError(`image decoding: no image decoded for ${STALL_SECONDS} s; the decoding worker stopped`);
      } else {
        waitedMs = 0;
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.close();
    void this.#worker.terminate();
  }
}
