/**
 * The Claude Code CLI's permission modes. Here rather than with the runner: the settings name the
 * modes a deployment allows, and the runner reads the settings.
 */
export enum PermissionMode {
  default = 'default',
  acceptEdits = 'acceptEdits',
  bypassPermissions = 'bypassPermissions',
  plan = 'plan',
  dontAsk = 'dontAsk',
  auto = 'auto',
}
