const features = [
  {
    title: 'One container per customer',
    body: 'Every tenant gets its own isolated LXC container with its own filesystem, processes and network.',
  },
  {
    title: 'Snapshot-fast provisioning',
    body: 'New tenants are cloned from BTRFS snapshots, so creating one is a single HTTP call.',
  },
  {
    title: 'Self-hosted',
    body: 'Runs on your own host. No third-party control plane, no data leaving your machines.',
  },
];

export default function HomePage() {
  return (
    <div className="space-y-10">
      <section className="space-y-3">
        <p className="text-xs font-medium uppercase tracking-wider text-neutral-500">Overview</p>
        <h1 className="text-3xl font-semibold tracking-tight">Welcome to Hoody</h1>
        <p className="max-w-2xl text-neutral-600">
          Hoody gives each of your SaaS customers an isolated container on your own infrastructure.
        </p>
      </section>

      <section className="rounded-lg border border-dashed border-neutral-300 bg-white p-6">
        <h2 className="font-medium">The dashboard is coming</h2>
        <p className="mt-1 text-sm text-neutral-600">
          Tenant management, usage and host status will appear here. In the meantime the API is up: check{' '}
          <a href="/api/health" className="font-mono text-neutral-900 underline underline-offset-2">
            /api/health
          </a>
          .
        </p>
      </section>

      <section className="grid gap-4 sm:grid-cols-3">
        {features.map((f) => (
          <div key={f.title} className="rounded-lg border border-neutral-200 bg-white p-5">
            <h3 className="text-sm font-medium">{f.title}</h3>
            <p className="mt-2 text-sm text-neutral-600">{f.body}</p>
          </div>
        ))}
      </section>
    </div>
  );
}
