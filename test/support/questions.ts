/** One question as the model writes it in its AskUserQuestion tool: a single choice of two. */
export const COLOR_QUESTION = {
  question: 'Which color?',
  header: 'Color',
  multiSelect: false,
  options: [
    { label: 'Red', description: 'warm' },
    { label: 'Blue', description: 'cold' },
  ],
};
