// The unit page's 更正: the unit's administrator corrects a typo in a trainee's 姓名 or
// 身份证号码, with the reason (the server holds a unit to a typo, one field, once a year).
import { post } from '../core/http.js';

/** `body`: { name?, id_number?, reason }; only the fields being corrected are sent. */
export const correctIdentity = (unitId, traineeId, body) =>
  post(`/api/units/${encodeURIComponent(unitId)}/trainees/${encodeURIComponent(traineeId)}/identity`, body);
