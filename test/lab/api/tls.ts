/**
 * Per-lab TLS material: a CA and a server certificate for 127.0.0.1, generated with the openssl CLI.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM texts of a generated CA and server certificate, plus the files they were written to. */
export interface LabTls {
  caCert: string;
  cert: string;
  key: string;
  files: { caCert: string; cert: string; key: string };
}

/** Generates a CA and a server certificate (SAN IP:127.0.0.1, DNS:localhost) into dir with openssl. */
export async function generateTls(dir: string): Promise<LabTls> {
  await mkdir(dir, { recursive: true });
  const f = (name: string) => join(dir, name);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ecKey, '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '30', '-subj', '/CN=netdebug-lab-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run('openssl', ['req', '-new', ...ecKey, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=netdebug-lab-apiserver']);
  await writeFile(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n');
  await run('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-out', f('server.crt'), '-days', '30', '-extfile', f('server.ext')]);
  const [caCert, cert, key] = await Promise.all([readFile(f('ca.crt'), 'utf8'), readFile(f('server.crt'), 'utf8'), readFile(f('server.key'), 'utf8')]);
  return { caCert, cert, key, files: { caCert: f('ca.crt'), cert: f('server.crt'), key: f('server.key') } };
}
