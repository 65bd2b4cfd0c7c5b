// Certificate calls: 我的证书 (each paid plan, complete or not, with its certificate if any),
// issuing or refreshing (刷新证书) one.
import { get, post } from '../core/http.js';
import { list, num, percentOf, pick } from './normalize.js';

export function normalizeCertificate(c) {
  if (!c || typeof c !== 'object') return null;
  const id = pick(c, ['id', 'certificate_id']);
  return {
    id,
    serial: pick(c, ['serial', 'serial_no', 'number'], ''),
    planId: pick(c, ['plan_id']),
    year: pick(c, ['year']),
    kind: pick(c, ['kind'], ''),
    hours: num(pick(c, ['hours', 'credit_hours'])),
    issuer: pick(c, ['issuer'], ''),
    issuedAt: pick(c, ['updated_at', 'issued_at', 'created_at']),
    issueDate: pick(c, ['updated_date', 'issue_date'], ''),
    version: num(pick(c, ['version']), 1),
    verifyUrl: pick(c, ['verify_url'], ''),
    pdfUrl: pick(c, ['pdf_url'], id ? `/api/certificates/${id}.pdf` : ''),
    printUrl: pick(c, ['print_url'], id ? `/certificates/${id}` : ''),
  };
}

/** One entry per paid plan: {plan, hoursDone, complete, percent, certificate|null}. */
function normalizeEntry(item) {
  const isEntry = item && typeof item === 'object' && ('certificate' in item || typeof item.plan === 'object');
  const cert = normalizeCertificate(isEntry ? item.certificate : item);
  const plan = isEntry ? pick(item, ['plan'], {}) : {};
  const required = num(pick(plan, ['required_hours']), cert ? cert.hours : 0);
  const hoursDone = num(pick(item, ['hours_done']), cert ? cert.hours : 0);
  return {
    plan: {
      id: pick(plan, ['id'], cert?.planId),
      title: pick(plan, ['title'], pick(item, ['plan_title'], '')),
      year: pick(plan, ['year'], cert?.year),
      kind: pick(plan, ['kind'], cert?.kind || ''),
      requiredHours: required,
    },
    hoursDone,
    percent: percentOf(hoursDone, required),
    complete: Boolean(pick(item, ['complete', 'completed'], Boolean(cert))),
    certificate: cert,
  };
}

export async function myCertificates() {
  return list(pick(await get('/api/me/certificates'), ['items', 'certificates'], [])).map(normalizeEntry);
}

/** Issue the plan's certificate, or re-issue it after the trainee's info changed (刷新证书). */
export async function issue(planId) {
  const raw = await post(`/api/plans/${encodeURIComponent(planId)}/certificate`, {});
  return normalizeCertificate(pick(raw, ['certificate'], raw));
}
