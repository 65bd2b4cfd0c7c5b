// Certificate calls: the trainee's certificates, issuing or refreshing (刷新证书) one.
import { get, post } from '../core/http.js';
import { list, num, pick } from './normalize.js';

export function normalizeCertificate(c) {
  const id = pick(c, ['id', 'certificate_id']);
  const plan = pick(c, ['plan'], {});
  return {
    id,
    serial: pick(c, ['serial', 'serial_no', 'number'], ''),
    planId: pick(c, ['plan_id'], pick(plan, ['id'])),
    planTitle: pick(c, ['plan_title', 'title'], pick(plan, ['title'], '')),
    year: pick(c, ['year'], pick(plan, ['year'])),
    kind: pick(c, ['kind'], pick(plan, ['kind'], '')),
    hours: num(pick(c, ['hours', 'credit_hours'])),
    issuedAt: pick(c, ['issued_at', 'updated_at', 'created_at']),
    verifyUrl: pick(c, ['verify_url'], pick(c, ['code']) ? `/verify/${pick(c, ['code'])}` : ''),
    pdfUrl: pick(c, ['pdf_url'], id ? `/api/certificates/${id}.pdf` : ''),
    printUrl: pick(c, ['print_url', 'html_url'], ''),
  };
}

export async function myCertificates() {
  return list(pick(await get('/api/me/certificates'), ['items', 'certificates'], [])).map(normalizeCertificate);
}

/** Issue the plan's certificate, or re-issue it after the trainee's info changed (刷新证书). */
export async function issue(planId) {
  const raw = await post(`/api/plans/${encodeURIComponent(planId)}/certificate`, {});
  return normalizeCertificate(pick(raw, ['certificate'], raw));
}
