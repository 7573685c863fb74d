/** Size limits of the loader: a model is untrusted input, so nothing huge is allocated on its word. */
export interface LoadOptions {
  /** Most elements one tensor may declare (default 2^31). Checked before anything is allocated. */
  readonly maxTensorElements?: number;
  /** Largest model file, in bytes (default 4 GiB). */
  readonly maxModelBytes?: number;
  /** Most nodes in the model, subgraphs included (default 1e6). */
  readonly maxNodes?: number;
}

export const LOAD_DEFAULTS: Required<LoadOptions> = {
  maxTensorElements: 2 ** 31,
  maxModelBytes: 4 * 2 ** 30,
  maxNodes: 1e6,
};
