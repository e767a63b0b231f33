/** Drift monitoring: features, reference profiles, sliding-window comparisons. See docs/monitoring.md. */
export {
  CLASS_FEATURE,
  CONTINUOUS_FEATURES,
  PER_DETECTION_FEATURES,
  extractFeatures,
  type ContinuousFeature,
  type FeatureSource,
  type ImageFeatures,
} from './features.js';
export {
  buildProfile,
  checkProfileModel,
  fileSha256,
  loadProfile,
  parseProfile,
  saveProfile,
  MIN_PROFILE_IMAGES,
  type ClassMix,
  type DriftProfile,
  type FeatureHistogram,
} from './profile.js';
export {
  DriftMonitor,
  DEFAULT_ALPHA,
  DEFAULT_MIN_WINDOW,
  DEFAULT_THRESHOLDS,
  DEFAULT_WINDOW,
  type DriftOptions,
  type DriftReport,
  type DriftStatus,
  type FeatureDrift,
  type Thresholds,
} from './drift.js';
export { collectFeatures, createProfile, DetectorMonitor, type ProfileOptions } from './detector-monitor.js';
export {
  CaptureSink,
  imageExtension,
  yoloLabels,
  type CaptureOptions,
  type CapturePolicies,
  type CaptureReason,
  type CaptureStats,
} from './capture.js';
export {
  AgreementTracker,
  DEFAULT_ROLLBACK,
  MATCH_IOU,
  matchDetections,
  rollbackCause,
  rollbackReason,
  type AgreementStats,
  type RollbackThresholds,
} from './agreement.js';
