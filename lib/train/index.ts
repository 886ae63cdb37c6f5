// The `train` namespace: the training loop, data loading, evaluation, checkpoints, progress, metrics, plots.
export { train, type TrainOptions, type TrainResult } from './trainer.js';
export { DataParallel, type DataParallelGroup } from './data-parallel.js';
export { DataLoader, shardOf, type Batch, type BatchLoader, type DataLoaderOptions, type LoaderPosition } from './data-loader.js';
export { DecodedImageCache, ImageDataLoader, type ImageLoaderOptions } from './image-loader.js';
export { indexImageFolder, readImageJsonl, loadImageDataset, labelsFromNames, modelLabels, IMAGE_EXTENSIONS, type ImageDataset, type ImageExample, type LabelMaps } from './image-data.js';
export type { AugmentOptions } from './augment.js';
export { evaluate, defaultLoss, defaultInputs, type EvaluateOptions, type EvaluateResult } from './evaluate.js';
export { saveCheckpoint, loadCheckpoint, latestCheckpoint, listCheckpoints, prepareOutputDir, readTrainerState, trainableParameters, type TrainerState } from './checkpoint.js';
export { ProgressBar, formatDuration, type ProgressOptions, type ProgressStream, type ProgressUpdate } from './progress.js';
export { MetricsLog, readMetrics, type MetricsRecord } from './metrics.js';
export { chartsFromMetrics, renderChartSvg, renderPlotsHtml, writePlots, type Chart, type Series } from './plots.js';
export { loadDigits, digitsSplit, splitIndices, selectRows, resizeImages, parseDigitsCsv, DIGIT_SIDE, DIGIT_CLASSES, type DigitImages } from './digits.js';
export type { LogitsModel, LossFn, InputsFn, TrainOptimizer, TrainScheduler } from './types.js';
