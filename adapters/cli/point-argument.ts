/**
 * The CLI's point arguments (`--at`, `--from`, `--to`). The parsing lives in
 * processes/queries/log-point.ts so the read API (adapters/http) takes the same forms.
 */
export {
  POINT_FORMS,
  type PointArgument,
  type PointEnd,
  parsePoint,
  positionOfPoint,
  type ResolvedWindow,
  resolveAt,
  resolveWindow,
} from '../../processes/queries/log-point.js';
