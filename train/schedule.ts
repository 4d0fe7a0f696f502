/**
 * The seed's learning-rate schedule (seed-spec 3): GradualWarmupSchedulerV2
 * (multiplier 10, one warmup epoch) around CosineAnnealingLR(T_max = epochs,
 * eta_min 1e-7), stepped once per epoch with `scheduler.step(epoch)`. Its
 * effective rate per epoch, simulated with torch: epochs 0 and 1 at
 * peak / 10, epochs 2 and 3 at the peak, then cosine from epoch 2 on.
 *
 * @module
 */

/** Options of {@linkcode seedLr}. */
export interface ScheduleOptions {
  /** Peak learning rate (the seed's 1e-4). */
  peak: number;
  /** Epochs in the run (T_max). */
  epochs: number;
  /** Warmup multiplier (10): the first epochs run at peak / factor. */
  warmupFactor?: number;
  /** Cosine floor (1e-7). */
  minLr?: number;
}

/**
 * The learning rate of epoch `e` (0-based).
 *
 * @example
 * ```ts
 * import { seedLr } from "./schedule.ts";
 * console.assert(Math.abs(seedLr(4, { peak: 1e-4, epochs: 10 }) - 9.05e-5) < 1e-7);
 * ```
 */
export function seedLr(e: number, o: ScheduleOptions): number {
  const factor = o.warmupFactor ?? 10, floor = o.minLr ?? 1e-7;
  if (e < 2) return o.peak / factor;
  if (e < 4) return o.peak;
  return floor + (o.peak - floor) * (1 + Math.cos(Math.PI * (e - 2) / o.epochs)) / 2;
}
