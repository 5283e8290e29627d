// An answer sent before the request's body was read whole (a 413, a route that ignores bodies) must
// reach the client, and what is left of the body must cost the server little.
//
// Node closes a connection right after the answer when it is the last one on it (the client sent
// `Connection: close`, or the server is stopping). With body bytes still unread, closing makes the
// kernel send a reset, and a client still writing its body meets the reset (EPIPE) before it reads
// the answer: the 413 is lost. RFC 9112 §9.6 asks for a staged close instead, which is done here:
// the write side is closed first, the rest of the body is read and thrown away up to a bound, then
// no longer read (TCP makes the client wait), and the connection is cut when the time bound ends.
import type http from "node:http";
import type { Socket } from "node:net";
import { UNREAD_BODY_DRAIN } from "../core/limits";

export interface UnreadBodyBound {
  /** Bytes of an unread body read and thrown away after the answer. */
  bytes: number;
  /** How long after the answer a connection with body bytes still coming is kept before it is cut. */
  ms: number;
}

/** Installs the staged close and the bounded drain on `server` (before its other listeners run). */
export function keepAnswersBeforeUnreadBodies(server: http.Server, bound: UnreadBodyBound = UNREAD_BODY_DRAIN): void {
  const current = new WeakMap<Socket, http.IncomingMessage>();
  server.prependListener("connection", (socket: Socket) => {
    const closeAtOnce = socket.destroySoon.bind(socket);
    // Node calls destroySoon() after the last answer on a connection (and socket.end() where a socket
    // has none): the one place to stage the close.
    socket.destroySoon = () => {
      const req = current.get(socket);
      if (!req || req.complete || req.destroyed) return closeAtOnce();
      socket.end();
      cutAfter(socket, bound.ms);
    };
  });
  server.prependListener("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    current.set(req.socket, req);
    const socket = req.socket;
    // At prefinish, before Node's own finish handler, which would otherwise dump an unread body
    // (read it to its end, unbounded) for a route that never touched it.
    res.once("prefinish", () => discardUnreadBody(req, socket, bound));
  });
}

/** Destroys the socket after `ms` unless stopped first; the listener goes with the stop (a kept-alive connection serves many requests). */
function cutAfter(socket: Socket, ms: number): () => void {
  const timer = setTimeout(() => socket.destroy(), ms);
  const stop = () => {
    clearTimeout(timer);
    socket.off("close", stop);
  };
  socket.once("close", stop);
  return stop;
}

/**
 * After the answer, what a route left of the body is read and thrown away up to `bound.bytes`, then
 * no longer read until the connection is cut when `bound.ms` ends. Reading without a bound would let
 * a client stream forever; a body drained to its end leaves a kept-alive connection usable.
 */
function discardUnreadBody(req: http.IncomingMessage, socket: Socket, bound: UnreadBodyBound): void {
  if (req.complete || req.destroyed) return;
  let left = bound.bytes;
  const stop = cutAfter(socket, bound.ms);
  req.once("end", stop);
  const drain = () => {
    for (let chunk: Buffer | null = req.read(); chunk !== null; chunk = req.read()) {
      left -= chunk.length;
      if (left < 0) return void req.off("readable", drain);
    }
  };
  req.on("readable", drain);
  // A first read now marks the body as consumed, so Node does not dump it.
  drain();
}
