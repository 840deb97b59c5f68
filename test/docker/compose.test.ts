// What a user gets from `docker-compose up -d`: three healthy members (Docker's HEALTHCHECK on
// /health), non-root, client ports published on 127.0.0.1 only, redirects and etcdctl working from
// the host against the advertised URLs, an image with production dependencies only; and
// `docker-compose down -v` leaves no container, network or volume behind.
import { existsSync } from 'node:fs';
import { expect, it } from 'vitest';
import { projectResources } from '../helpers/compose-cluster.js';
import { run } from '../helpers/docker-engine.js';
import { describeRun, etcdctl, etcdctlBinary } from '../helpers/etcdctl.js';
import { describeDocker, useComposeCluster } from './use-compose-cluster.js';
import { leaderRedirect } from '../helpers/redirect-location.js';

describeDocker('docker: the docker-compose.yml cluster', () => {
  const cluster = useComposeCluster('compose');

  it('three members run as a non-root user, healthy by Docker HEALTHCHECK, client ports bound to 127.0.0.1 only', async () => {
    const c = cluster();
    // A plain `up` starts the three members only (infra4, the replacement, is under the profile "replace").
    const containers = (await projectResources(c.docker, c.project)).filter((r) => r.startsWith('container'));
    expect(containers.length, containers.join(', ')).toBe(3);
    expect(c.members.map((m) => m.name)).toEqual(['infra1', 'infra2', 'infra3']);
    for (const m of c.members) {
      const info = await c.inspect(m.name);
      expect(info.State.Health?.Status, `${m.name} docker health`).toBe('healthy');
      expect(info.Config.Healthcheck?.Test?.join(' ')).toContain('/health');
      expect(info.Config.User).toBe('node');
      expect(info.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
      const bindings = Object.values(info.NetworkSettings.Ports ?? {}).flatMap((b) => b ?? []);
      expect(bindings.length, `${m.name} published ports`).toBeGreaterThan(0);
      for (const b of bindings) expect(b.HostIp, `${m.name} publishes ${b.HostPort} on ${b.HostIp}`).toBe('127.0.0.1');
      expect(bindings.map((b) => `http://127.0.0.1:${b.HostPort}`)).toEqual([m.clientURL]);
      const uid = await run('docker', ['exec', m.containerId, 'node', '-e', 'process.stdout.write(`${process.getuid()}:${process.getgid()}`)'], { timeoutMs: 20_000 });
      expect(uid.code, uid.stderr).toBe(0);
      expect(uid.stdout).not.toMatch(/^0:/);
    }
  });

  it('a write to a follower answers 307 to the leader\'s advertised host URL; followed, it is visible on every member', async () => {
    const c = cluster();
    const leader = await c.waitLeader();
    const follower = c.members.find((m) => m !== leader);
    if (!follower) throw new Error('no follower');
    const res = await c.client.http.send({ method: 'PUT', url: `${follower.clientURL}/v2/keys/compose/message`, form: { value: 'Hello world' }, timeoutMs: 5000 });
    expect(res.status).toBe(307);
    expect(res.headers['location']).toMatch(leaderRedirect(leader.clientURL, '/v2/keys/compose/message'));
    const put = await c.client.put(follower.clientURL, '/compose/message', 'Hello world');
    expect(put.kind, JSON.stringify(put)).toBe('acknowledged');
    for (const m of c.members) {
      const got = await c.client.get(m.clientURL, '/compose/message', { quorum: true });
      expect(got.json?.node.value, `${m.name} quorum read`).toBe('Hello world');
    }
  });

  it.skipIf(!existsSync(etcdctlBinary))('ETCDCTL_API=2 etcdctl from the host: set, get, ls, member list, cluster-health', async () => {
    const c = cluster();
    const endpoints = c.members.map((m) => m.clientURL).join(',');
    const set = await etcdctl(['set', '/compose/hello', 'world'], { endpoints });
    expect(set.code, describeRun(['set'], set)).toBe(0);
    const get = await etcdctl(['get', '/compose/hello'], { endpoints: c.members[2]?.clientURL ?? '' });
    expect(get.stdout.trim(), describeRun(['get'], get)).toBe('world');
    const ls = await etcdctl(['ls', '--recursive', '/compose'], { endpoints });
    expect(ls.stdout.split('\n'), describeRun(['ls'], ls)).toContain('/compose/hello');
    const members = await etcdctl(['member', 'list'], { endpoints });
    expect(members.code, describeRun(['member', 'list'], members)).toBe(0);
    for (const m of c.members) expect(members.stdout).toContain(`name=${m.name} peerURLs=http://${m.name}-peer:2380 clientURLs=${m.clientURL}`);
    expect(members.stdout.match(/isLeader=true/g)?.length).toBe(1);
    const health = await etcdctl(['cluster-health'], { endpoints });
    expect(health.stdout, describeRun(['cluster-health'], health)).toContain('cluster is healthy');
  });

  it('the image holds production dependencies only', async () => {
    const c = cluster();
    const ls = await run('docker', ['exec', c.members[0]?.containerId ?? '', 'ls', '/app', '/app/node_modules'], { timeoutMs: 20_000 });
    expect(ls.code, ls.stderr).toBe(0);
    const entries = ls.stdout.split(/\s+/);
    for (const dep of ['express', 'level', 'msgpackr', 'pino', 'undici']) expect(entries).toContain(dep);
    for (const dev of ['typescript', 'vitest', 'testcontainers', 'tsx', 'src', 'test']) expect(entries).not.toContain(dev);
    console.info(`[docker compose] image ${c.image.tag}: ${(c.image.sizeBytes / 1e6).toFixed(1)} MB on ${c.image.baseImage}`);
  });

  it('compose down -v removes every container, network and volume of the project', async () => {
    const c = cluster();
    const before = await projectResources(c.docker, c.project);
    // The members' three volumes; compose v1 also creates every other declared volume (infra4-data,
    // unused until infra4 is started).
    const volumes = before.filter((r) => r.startsWith('volume')).map((r) => r.replace(`volume ${c.project}_`, '')).sort();
    expect(volumes.filter((v) => v !== 'infra4-data')).toEqual(['infra1-data', 'infra2-data', 'infra3-data']);
    expect(before.filter((r) => r.startsWith('network')).length).toBe(2);
    await c.composeDown();
    expect(await projectResources(c.docker, c.project)).toEqual([]);
  });
});
