// 学习记录: the trainee's own plays of each chapter (GET /api/me/learning-record).
import { get } from '../core/http.js';

/** One course's record ({courses: [course], totals}), or every course's when no id. */
export function learningRecord(courseId) {
  return get('/api/me/learning-record', { query: courseId ? { course_id: courseId } : {} });
}
