// Fault points: named places where a test can make this process die as a crash would (SIGKILL, no
// cleanup), to hit a window that a kill from outside reaches only by chance. Off unless
// HOODY_FAULT_POINT names the point; read at each pass so a test can arm one web start only.
import { webConfig } from "../config";

export type FaultPoint = "after-container-row";

export function faultPoint(name: FaultPoint): void {
  if (webConfig().faultPoint === name) process.kill(process.pid, "SIGKILL");
}
