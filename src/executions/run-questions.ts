import { HttpStatus } from '@nestjs/common';
import { ApiError } from '../common/errors/api-error';
import { ErrorCode } from '../common/errors/error-codes';
import { QuestionAnswerDto, QuestionDto, QuestionOptionDto } from './dto/question.dto';

/** The CLI's tool for asking the user questions; its permission ask is shown as questions. */
export const ASK_USER_QUESTION = 'AskUserQuestion';

/** The questions of an `AskUserQuestion` input, or undefined when it is not shaped as one. */
export function readQuestions(input: Record<string, unknown>): QuestionDto[] | undefined {
  const { questions } = input;
  if (!Array.isArray(questions) || questions.length === 0) return undefined;
  const read = questions.map(readQuestion);
  return read.every((question) => question !== undefined) ? read : undefined;
}

/**
 * The answers as the CLI takes them in the tool's input (question text → answer; several picks
 * are joined with ", ", as the CLI's own dialog does). A label that is not an option, two picks
 * of a single-choice question or an empty answer is 400.
 */
export function answersFor(
  questions: QuestionDto[],
  answers: QuestionAnswerDto[],
): Record<string, string> {
  if (answers.length !== questions.length) {
    throw invalidAnswer(
      `answers has ${answers.length} item(s); the request asks ${questions.length} question(s)`,
    );
  }
  return Object.fromEntries(
    questions.map((question, index) => [question.question, answerText(question, answers[index])]),
  );
}

function answerText(question: QuestionDto, answer: QuestionAnswerDto): string {
  const selected = answer.selected ?? [];
  const labels = question.options.map((option) => option.label);
  const unknown = selected.find((label) => !labels.includes(label));
  if (unknown !== undefined) {
    throw invalidAnswer(
      `"${unknown}" is not an option of "${question.question}" (${labels.join(', ')})`,
    );
  }
  if (!question.multiSelect && selected.length > 1) {
    throw invalidAnswer(`"${question.question}" takes one option, not ${selected.length}`);
  }
  const text = answer.text?.trim();
  const parts = text ? [...selected, text] : selected;
  if (parts.length === 0) {
    throw invalidAnswer(`"${question.question}" needs an option in selected, or a text`);
  }
  return parts.join(', ');
}

function readQuestion(value: unknown): QuestionDto | undefined {
  if (!isRecord(value) || !Array.isArray(value.options)) return undefined;
  const { question, header, multiSelect } = value;
  if (typeof question !== 'string' || typeof header !== 'string') return undefined;
  const options = value.options.map(readOption);
  if (!options.every((option) => option !== undefined)) return undefined;
  return { question, header, multiSelect: multiSelect === true, options };
}

function readOption(value: unknown): QuestionOptionDto | undefined {
  if (!isRecord(value) || typeof value.label !== 'string') return undefined;
  const option: QuestionOptionDto = {
    label: value.label,
    description: typeof value.description === 'string' ? value.description : '',
  };
  if (typeof value.preview === 'string') option.preview = value.preview;
  return option;
}

function invalidAnswer(message: string): ApiError {
  return new ApiError(HttpStatus.BAD_REQUEST, ErrorCode.VALIDATION_FAILED, message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
