// What the feature modules share: the index, open documents, settings and build outputs.
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { CpuMode } from '../../debug-adapter/toolchain/modes';
import type { BuildArtifacts } from '../build-info/build-artifacts';
import type { WorkspaceIndex } from '../index/workspace-index';
import type { UriMap } from '../util/uri';
import type { Settings } from './settings';
import type { FileArch } from '../ppc64/file-arch';

export interface ServerContext {
  index: WorkspaceIndex;
  uris: UriMap;
  artifacts: BuildArtifacts;
  settings(): Settings;
  /** The open document for a file, if the editor has it. */
  document(file: string): TextDocument | undefined;
  /** A line of a file: from the open document, else from disk. */
  lineText(file: string, line: number): string;
  /** The client takes a shared edit range in CompletionList.itemDefaults. */
  clientSupportsEditRange: boolean;
  /** The client expands `${1:placeholder}` snippets in completion items. */
  clientSupportsSnippets: boolean;
  /** The build mode of a root source (its marker or .code directive, else the default). */
  buildMode(file: string): CpuMode;
  /** x86, or ppc64 for POWER files (their own features: ../ppc64/). */
  archOf(file: string): FileArch;
}
