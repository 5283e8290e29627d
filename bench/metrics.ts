// The /metrics scenario alone, without a stack (it needs none): tsx bench/metrics.ts [tenants] [scrapes]
import { metricsScrape } from "./scenarios/metrics.js";

console.log(JSON.stringify(await metricsScrape({ tenants: Number(process.argv[2] ?? 1000), scrapes: Number(process.argv[3] ?? 30) }), null, 2));
